#!/bin/sh
# Installs the Debian packages samlog needs, when run as root; as anyone
# else it prints the one apt-get line to run and fails.
#
#   scripts/deps.sh build   to build and run: compiler, pkg-config and the
#                           libraries samlogd and samlog link
#                           (make, make run, make install, make man)
#   scripts/deps.sh test    the above, plus what the tests, lint, fuzzing
#                           and benchmarks use (make check, make unit, ...)
#
# Quiet when nothing is missing: make calls it on every build.
set -eu

BUILD_PKGS="make gcc pkg-config libuv1-dev liblmdb-dev libmsgpack-dev \
libssl-dev libsodium-dev libjansson-dev libmicrohttpd-dev"
# cmocka: the suites; clang and its runtime: libFuzzer; cppcheck and
# clang-tidy: lint; systemd: systemd-analyze verify of the unit;
# groff-base and mandoc: the man pages' check; faketime: test_fault's
# clocks; chromium (headless), its driver, python3-selenium to drive it,
# a font and poppler-utils: the report printed to A4 and the web page in
# a real browser (tests/browser).
TEST_PKGS="libcmocka-dev clang libclang-rt-14-dev cppcheck clang-tidy \
systemd groff-base mandoc faketime chromium chromium-driver \
python3-selenium fonts-dejavu-core poppler-utils"

case "${1:-}" in
build) pkgs=$BUILD_PKGS ;;
test) pkgs="$BUILD_PKGS $TEST_PKGS" ;;
*)
	echo "usage: scripts/deps.sh build|test" >&2
	exit 2
	;;
esac

# One dpkg-query for all of them; a package it does not know prints
# nothing, so the missing ones are those not listed as installed.
# shellcheck disable=SC2086
have=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null |
    sed -n 's/^\([^ :]*\)[^ ]* install ok installed$/\1/p')
missing=""
for p in $pkgs; do
	case " $(echo $have) " in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
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
echo "deps: missing Debian packages; run first: sudo apt-get install -y$missing" >&2
exit 1
