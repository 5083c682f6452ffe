#!/bin/sh
# Runs the cmocka suites of each build directory given, then (after "--")
# a short libFuzzer pass of each named target (build/fuzz/fuzz_NAME).
# Prints each suite's output and ends with one line CI reads:
# "N passed, N failed".
set -u
# SAMLOG_SUITES: run only these (make unit).
SUITES=${SAMLOG_SUITES:-"test_mp test_event test_output test_schema test_store
    test_project test_fold test_member test_node test_e2e test_sync test_fault
    test_hostile test_meaning test_attack test_attack13 test_attack14 test_soak
    test_sheets test_cli_golden test_report test_evfile test_raw test_ckpt test_device
    test_fork test_majority test_erase test_ui"}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	build=$1
	shift
	for t in $SUITES; do
		echo "== $build/$t"
		# test_ui: the web page in a real browser (Python, selenium).
		if [ "$t" = test_ui ]; then
			if [ -x /usr/bin/python3 ]; then
				/usr/bin/python3 tests/browser/test_ui.py "$build" \
				    >"$log" 2>&1
				rc=$?
			else
				echo "[ SKIPPED  ] test_ui: /usr/bin/python3 is not" \
				    "installed (apt-get install python3-selenium)" \
				    >"$log"
				rc=0
			fi
		else
			SAMLOG_BUILD=$build "$build/$t" >"$log" 2>&1
			rc=$?
		fi
		cat "$log"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log")
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log")
		p=${p:-0}
		f=${f:-0}
		# A suite that died (a sanitizer abort) may not print its counts.
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "!! $build/$t exited with status $rc"
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
	done
done

# The installed systemd unit must verify without a word.
if [ -n "${SAMLOG_UNIT:-}" ]; then
	echo "== systemd-analyze verify $SAMLOG_UNIT"
	if systemd-analyze verify "$SAMLOG_UNIT" >"$log" 2>&1 && [ ! -s "$log" ]
	then
		echo "clean"
		passed=$((passed + 1))
	else
		cat "$log"
		echo "!! the unit does not verify cleanly"
		failed=$((failed + 1))
	fi
fi

# The installed man pages must format without a single groff warning,
# and pass mandoc's lint without one either.
if [ -n "${SAMLOG_MAN:-}" ]; then
	echo "== groff -man -ww and mandoc -T lint on $SAMLOG_MAN"
	bad=0
	for m in $SAMLOG_MAN; do
		if ! { groff -man -ww -z -Tutf8 "$m" &&
		    mandoc -T lint -W warning "$m"; } >"$log" 2>&1 ||
		    [ -s "$log" ]
		then
			cat "$log"
			echo "!! $m has warnings"
			bad=1
		fi
	done
	if [ "$bad" -eq 0 ] && [ "$(echo $SAMLOG_MAN | wc -w)" -eq 3 ]; then
		echo "clean"
		passed=$((passed + 1))
	else
		echo "!! the man pages are missing or have warnings"
		failed=$((failed + 1))
	fi
fi

# After "--": fuzz target names.  Each replays its kept regression inputs
# (crashes found and fixed), then runs SAMLOG_FUZZ_TIME seconds from its
# seed corpus.
if [ "${1:-}" = "--" ]; then
	shift
	secs=${SAMLOG_FUZZ_TIME:-10}
	for t in "$@"; do
		fuzzer=build/fuzz/fuzz_$t
		work=$(mktemp -d)
		regress=tests/fuzz/regress/$t
		if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
			echo "== $fuzzer on $(ls "$regress" | wc -l) kept inputs"
			if "$fuzzer" "$regress"/* >"$log" 2>&1; then
				passed=$((passed + 1))
			else
				cat "$log"
				echo "!! a fixed crash of $t is back"
				failed=$((failed + 1))
			fi
		fi
		echo "== $fuzzer for ${secs}s"
		if "$fuzzer" -max_total_time="$secs" -artifact_prefix="$work/" \
		    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
			tail -n 1 "$log"
			passed=$((passed + 1))
			rm -rf "$work"
		else
			cat "$log"
			echo "!! fuzzing $t found a crash; inputs kept in $work"
			failed=$((failed + 1))
		fi
	done
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
