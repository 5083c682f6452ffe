#!/bin/sh
# Installs samlog's Debian build and test dependencies when run as root;
# otherwise prints the exact apt-get line to run and fails.
set -eu

PKGS="make gcc clang libclang-rt-14-dev pkg-config libuv1-dev liblmdb-dev \
libmsgpack-dev libsodium-dev libssl-dev libcmocka-dev libjansson-dev systemd groff-base \
cppcheck clang-tidy faketime"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with:" >&2
echo "  sudo apt-get install -y$missing" >&2
exit 1
