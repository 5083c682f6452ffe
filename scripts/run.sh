#!/bin/sh
# The main job: makes sure the default node exists (creating it on the first
# run, for the organisation in SAMLOG_ORG, and loading the demo records into
# it), then serves it with samlogd in the foreground.  Ctrl-C stops it.
set -eu
build=${1:-build}
org=${SAMLOG_ORG:-Samordningsförbundet}
dir=${SAMLOG_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/samlog}
new=0

if [ ! -f "$dir/node.key" ]; then
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
