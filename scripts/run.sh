#!/bin/sh
# The main job: makes sure the default node exists (creating it on the first
# run and loading the demo records into it), then serves it with samlogd in
# the foreground.  Ctrl-C stops it.
#
# The organisation a new node speaks for is $ORG (make run ORG="NAME"),
# else $SAMLOG_ORG; without either it is asked for once on a terminal, and
# refused elsewhere.  An existing node keeps its own (samlog.conf's org).
set -eu
build=${1:-build}
org=${ORG:-${SAMLOG_ORG:-}}
dir=${SAMLOG_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/samlog}
new=0

if [ ! -f "$dir/node.key" ]; then
	if [ -z "$org" ] && [ -t 0 ] && [ -t 2 ]; then
		printf 'run: a new node in %s; the organisation it speaks for: ' \
		    "$dir" >&2
		IFS= read -r org || org=""
	fi
	if [ -z "$org" ]; then
		echo "run: no organisation for the new node in $dir: run make run ORG=\"NAME\"" >&2
		exit 1
	fi
	"$build/samlog" -d "$dir" init --org "$org"
	new=1
fi
"$build/samlogd" -d "$dir" --foreground &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' INT TERM
i=0
while ! "$build/samlog" -d "$dir" status >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
		echo "run: samlogd did not start" >&2
		exit 1
	fi
	sleep 0.1
done
if [ $new -eq 1 ]; then
	sh "$(dirname "$0")/demo.sh" "$build/samlog" "$dir"
fi
echo "run: samlogd is serving $dir; Ctrl-C stops it. Try, in another terminal:"
echo "  $build/samlog -d $dir org list"
echo "  $build/samlog -d $dir decision list"
wait $pid
