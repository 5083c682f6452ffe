#!/bin/sh
# Splices the generated record commands into a man page, between the lines
# ".\" BEGIN RECORD COMMANDS" and ".\" END RECORD COMMANDS".
#   man.sh MANGEN PAGE update   rewrite PAGE with MANGEN's output
#   man.sh MANGEN PAGE check    fail (one line) if PAGE differs from it
set -eu
gen=$1
page=$2
mode=$3
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.part"' EXIT

"$gen" >"$tmp.part"
if [ "$(grep -c -e '^\.\\" BEGIN RECORD COMMANDS$' -e '^\.\\" END RECORD COMMANDS$' "$page")" -ne 2 ]; then
	echo "man: $page lacks the BEGIN/END RECORD COMMANDS marker lines" >&2
	exit 1
fi
awk -v part="$tmp.part" '
	/^\.\\" END RECORD COMMANDS$/ { skip = 0 }
	!skip { print }
	/^\.\\" BEGIN RECORD COMMANDS$/ {
		while ((getline line < part) > 0)
			print line
		skip = 1
	}
' "$page" >"$tmp"
case $mode in
update)
	if cmp -s "$tmp" "$page"; then
		echo "man: $page is up to date"
	else
		cat "$tmp" >"$page"
		echo "man: $page rewritten from the record schema"
	fi
	;;
check)
	if ! cmp -s "$tmp" "$page"; then
		echo "man: $page does not match the record schema; run: make man" >&2
		exit 1
	fi
	echo "man: $page matches the record schema"
	;;
*)
	echo "usage: man.sh MANGEN PAGE update|check" >&2
	exit 2
	;;
esac
