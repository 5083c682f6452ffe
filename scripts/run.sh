#!/bin/sh
# The main job: makes sure the default node exists (creating it on the first
# run, for the organisation in SAMLOG_ORG), then runs samlogd on it in the
# foreground.  Ctrl-C stops it cleanly.
set -eu
build=${1:-build}
org=${SAMLOG_ORG:-Samordningsförbundet}
dir=${SAMLOG_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/samlog}

if [ ! -f "$dir/node.key" ]; then
	"$build/samlog" -d "$dir" init --org "$org"
fi
echo "run: samlogd on $dir (Ctrl-C to stop)"
exec "$build/samlogd" -d "$dir" --foreground
