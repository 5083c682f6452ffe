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
#
# For the tests it also installs, from the npm registry, axe-core (the
# version tests/browser/package-lock.json pins) in build/axe: the browser
# tests check every page with it against WCAG 2.1 A and AA.  npm comes
# from Debian's package where the machine has none.  Without the
# registry, those checks say in one line that they were skipped.
set -eu

BUILD_PKGS="make gcc pkg-config libuv1-dev liblmdb-dev libmsgpack-dev \
libssl-dev libsodium-dev libjansson-dev libmicrohttpd-dev"
# cmocka: the suites; clang and its runtime: libFuzzer; cppcheck and
# clang-tidy: lint; systemd: systemd-analyze verify of the unit;
# groff-base and mandoc: the man pages' check; faketime: test_fault's
# clocks; chromium (headless), its driver, python3-selenium to drive it,
# a font and poppler-utils: the report printed to A4 and the web page in
# a real browser (tests/browser); libsqlite3-dev: make bench-compare.
TEST_PKGS="libcmocka-dev clang libclang-rt-14-dev cppcheck clang-tidy \
systemd groff-base mandoc faketime chromium chromium-driver \
python3-selenium fonts-dejavu-core poppler-utils libsqlite3-dev"

case "${1:-}" in
build) pkgs=$BUILD_PKGS ;;
test) pkgs="$BUILD_PKGS $TEST_PKGS" ;;
*)
	echo "usage: scripts/deps.sh build|test" >&2
	exit 2
	;;
esac

# axe-core in build/axe, as the lock file pins it (as the user running
# make: build/ is theirs).
axe() {
	[ "${1:-}" = test ] || return 0
	[ -f build/axe/node_modules/axe-core/axe.min.js ] && return 0
	command -v npm >/dev/null 2>&1 || return 0
	mkdir -p build/axe
	cp tests/browser/package.json tests/browser/package-lock.json build/axe/
	if ! (cd build/axe && npm ci --no-audit --no-fund --silent \
	    >/dev/null 2>&1); then
		echo "deps: axe-core could not be installed from the npm" \
		    "registry; the accessibility checks will be skipped" >&2
	fi
	return 0
}

# npm where there is none (a machine with Node.js from elsewhere has its
# own, and Debian's would clash with it).
if [ "${1:-}" = test ] && ! command -v npm >/dev/null 2>&1; then
	pkgs="$pkgs npm"
fi

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
if [ -z "$missing" ]; then
	axe "$1"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	axe "$1"
	exit 0
fi
echo "deps: missing Debian packages; run first: sudo apt-get install -y$missing" >&2
exit 1
