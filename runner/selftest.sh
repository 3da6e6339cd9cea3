#!/bin/sh
# selftest.sh: checks the test runner (runner/) from the outside. It
# runs runner_selftest, the program built from runner/selftest.c, whose tests
# fail in every way a test can, with many flags, and checks the output and
# exit status students will see. Prints one line per failed check and a
# count at the end; exits non-zero if any check failed.
#
#   usage: runner/selftest.sh PATH/TO/runner_selftest
set -u

prog=${1:?usage: $0 PATH/TO/runner_selftest}
src=$(dirname "$0")/selftest.c
tmp=$(mktemp -d "${TMPDIR:-/tmp}/runner_selftest.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

RAFTLAB_LOG_DIR=$tmp/logs
RAFTLAB_TIME_SCALE=1 # the hang test's 2 s limit, even in sanitizer builds
export RAFTLAB_LOG_DIR RAFTLAB_TIME_SCALE
unset RAFTLAB_FLAKY RAFTLAB_SEED
# TestCrash aborts: no core files, please (where the shell can say so).
# shellcheck disable=SC3045
ulimit -c 0 2>/dev/null
tab=$(printf '\t')

passed=0
failed=0
what="" # the command being checked, for failure messages

# run ARGS...: runs the program; stdout in $tmp/out, stderr in $tmp/err,
# exit status in $rc.
run() {
	what="runner_selftest $*"
	"$prog" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

ok() {
	passed=$((passed + 1))
}

# bad MESSAGE: a failed check; shows what the program printed.
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n  after: %s\n' "$1" "$what"
	sed 's/^/  stdout| /' "$tmp/out" | head -n 60
	sed 's/^/  stderr| /' "$tmp/err" | head -n 20
}

expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok; else bad "exit status $rc, want $1"; fi
}

# expect_out TEXT / expect_err TEXT: the text (fixed) is in stdout/stderr.
expect_out() {
	if grep -qF -e "$1" "$tmp/out"; then ok; else bad "stdout lacks: $1"; fi
}
expect_err() {
	if grep -qF -e "$1" "$tmp/err"; then ok; else bad "stderr lacks: $1"; fi
}
# expect_out_re REGEX: a line of stdout matches the extended regex.
expect_out_re() {
	if grep -qE -e "$1" "$tmp/out"; then ok; else bad "stdout has no line matching: $1"; fi
}
expect_no_out() {
	if grep -qF -e "$1" "$tmp/out"; then bad "stdout should not have: $1"; else ok; fi
}

# The source lines that the failure messages must point at.
if [ -f "$src" ]; then
	assert_line=$(grep -n 'CU_ASSERT_EQUAL(1 + 1, 3)' "$src" | cut -d: -f1)
	fatal_line=$(grep -n 'runner_fatalf("expected one leader' "$src" | cut -d: -f1)
	abort_line=$(grep -n '	abort();' "$src" | head -n 1 | cut -d: -f1)
	segv_line=$(grep -n '\*null_target = 1;' "$src" | cut -d: -f1)
	hang_line=$(grep -n '		pthread_cond_wait(cond, &hang_mu);' "$src" | cut -d: -f1)
	helper_line=$(grep -n '	wait_for_signal(&hang_cond);' "$src" | cut -d: -f1)
else
	assert_line='[0-9]+'
	fatal_line='[0-9]+'
	abort_line='[0-9]+'
	segv_line='[0-9]+'
	hang_line='[0-9]+'
	helper_line='[0-9]+'
fi

# ---- flags, selection, usage errors ----

run -h
expect_rc 0
expect_out "usage: $prog [-run REGEX] [-list] [-seed N] [-timeout SEC] [-parallel N] [-count N] [-go-only] [-v] [-xml PREFIX] [-results FILE] [-budget SEC] [-no-fork] [-h]"
expect_out "-no-fork"
expect_out "gdb --args"

run -list
expect_rc 0
if [ "$(wc -l <"$tmp/out")" -eq 13 ] && [ "$(head -n 1 "$tmp/out")" = TestPass ]; then ok; else
	bad "-list should print the 13 tests, TestPass first"; fi

run -run '^TestPass$|^TestAssertFails$' -xml "$tmp/cunit"
expect_rc 1
if grep -q "<TEST_NAME> TestPass </TEST_NAME>" "$tmp/cunit-Results.xml" 2>/dev/null &&
	grep -q "<TEST_NAME> TestAssertFails </TEST_NAME>" "$tmp/cunit-Results.xml" &&
	grep -q "<CUNIT_RUN_TEST_FAILURE>" "$tmp/cunit-Results.xml"; then ok; else
	bad "-xml should write CUnit's results, a failure among them, to PREFIX-Results.xml"; fi

# -xml and -results are checked before any test runs.
run -run '^TestPass$' -xml "$tmp/no/such/folder/cunit"
expect_rc 2
expect_err "cannot write the -xml results $tmp/no/such/folder/cunit-Results.xml: No such file or directory"
expect_no_out "Test: passing"
run -run '^TestPass$' -results "$tmp/no/such/folder/results"
expect_rc 2
expect_err "cannot write -results $tmp/no/such/folder/results: No such file or directory"

# -results: a line per run, the whole of a multi-line message escaped.
run -run '^TestPass$|^TestAssertFails$|^TestFatal$' -results "$tmp/results"
expect_rc 1
if grep -q "^#test${tab}result${tab}seconds${tab}seed${tab}rpcs${tab}ops${tab}log${tab}message$" "$tmp/results" &&
	grep -qE "^TestPass${tab}pass${tab}[0-9.]+${tab}0x[0-9a-f]+${tab}${tab}${tab}${tab}$" "$tmp/results" &&
	grep -qE "^TestAssertFails${tab}fail${tab}[0-9.]+${tab}0x[0-9a-f]+${tab}${tab}${tab}$tmp/logs/[^${tab}]+\.log${tab}selftest\.c:$assert_line: CU_ASSERT_EQUAL\(1 \+ 1,3\)$" "$tmp/results" &&
	grep -qE "^TestFatal${tab}fail${tab}.*${tab}selftest\.c:$fatal_line: expected one leader, got 0$" "$tmp/results"; then ok; else
	bad "-results should hold a line per run: $(cat "$tmp/results")"; fi
if [ "$(grep -vc '^#' "$tmp/results")" -eq 3 ]; then ok; else bad "-results should hold 3 runs"; fi
run -run '^TestLongMessage$' -results "$tmp/results"
expect_rc 1
if grep -qF -e ': get wrong value, key 0, wanted:\nx\ty\\z\nbut got:\n' "$tmp/results"; then ok; else
	bad "-results should keep a multi-line message whole, escaped: $(tail -1 "$tmp/results")"; fi

# -budget: the whole run's time; the running test is killed, the rest not run.
start=$(date +%s)
run -run '^TestHang$|^TestPass$' -count 2 -budget 1 -results "$tmp/results"
took=$(($(date +%s) - start))
expect_rc 1
expect_out "        killed: the run's time budget of 1 s (-budget) ran out"
expect_out "        not run: the run's time budget of 1 s (-budget) ran out"
if [ "$took" -le 3 ]; then ok; else bad "-budget 1 should end the run in about 1 s, not $took s"; fi
if grep -q "^TestHang${tab}budget${tab}" "$tmp/results" &&
	grep -q "^TestPass#2${tab}not-run${tab}" "$tmp/results" &&
	grep -q "^TestHang#2${tab}not-run${tab}" "$tmp/results"; then ok; else
	bad "-results should mark the killed run budget and the others not-run: $(cat "$tmp/results")"; fi
run -budget 0
expect_rc 2
expect_err "bad -budget '0': want seconds, more than 0 and at most 1000000"

run -list -run 'Pass|Seed'
expect_rc 0
if [ "$(cat "$tmp/out")" = "$(printf 'TestPass\nTestSeed')" ]; then ok; else
	bad "-list -run 'Pass|Seed' should print TestPass and TestSeed"; fi

run -list -go-only -run 'Pass|Seed'
expect_rc 0
if [ "$(cat "$tmp/out")" = "TestPass" ]; then ok; else
	bad "-list -go-only should leave out TestSeed, marked beyond Go"; fi

run -run '^TestPass$'
expect_rc 0
expect_out "Test: passing ..."
expect_no_out "=== RUN"
expect_no_out "--- PASS"
expect_out "Run Summary:"
expect_out_re '^ +tests +1 +1 +1 +0 +0$'
expect_out_re '^ +asserts +2 +2 +2 +0 +n/a$'
expect_out_re "^PASS$"
expect_out_re "^ok  ${tab}selftest${tab}[0-9]+\.[0-9]{3}s$"
for log in "$tmp"/logs/*TestPass*; do
	if [ -e "$log" ]; then bad "the log of a passing test should be deleted"; else ok; fi
done

run -run=Pass --v
expect_rc 0
expect_out_re '^=== RUN   TestPass  seed=0x[0-9a-f]+$'
expect_out_re '^--- PASS: TestPass \([0-9]+\.[0-9]{2}s\)$'

run -run NoSuchTest
expect_rc 2
if [ "$(cat "$tmp/err")" = "no tests matched -run 'NoSuchTest' (run with -list to see the tests)" ]; then
	ok; else bad "wrong message for a -run that matches nothing"; fi

# A flag's value may not be the next flag: -xml -list once took -list as
# the XML prefix and ran the whole suite.
run -xml -list
expect_rc 2
expect_err "flag -xml needs a value (a file name prefix), not the flag '-list' (write -xml=-list if that is the value)"
expect_no_out "Test: passing"
run -run -list
expect_rc 2
expect_err "flag -run needs a value (a regular expression), not the flag '-list'"
run -run=-Pass -list
expect_rc 2
expect_err "no tests matched -run '-Pass'"
run -run=Pa -list
expect_rc 0
expect_out "TestPass"
run -h
expect_rc 0
expect_out "  2  a usage error: an unknown flag, a bad value, a -run"

run -bogus
expect_rc 2
expect_err "unknown flag -bogus"
expect_err "usage: $prog"

run -run
expect_rc 2
expect_err "flag -run needs a value"

run -run '('
expect_rc 2
expect_err "bad -run pattern '('"

for args in "-seed zz" "-seed 0x" "-count 0" "-parallel x" "-timeout -1" "-v=1" "extra"; do
	# shellcheck disable=SC2086 # split on purpose
	run $args
	expect_rc 2
	expect_err "usage: "
done

run -no-fork -parallel 2
expect_rc 2

what="RAFTLAB_TIME_SCALE=abc runner_selftest -run Pass"
RAFTLAB_TIME_SCALE=abc "$prog" -run Pass >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 2
expect_err "RAFTLAB_TIME_SCALE must be a number above 0 and at most 1000, not 'abc'"

# Limits too large to be meant (they once overflowed into an instant
# TIMEOUT) are errors; the largest allowed work.
what="RAFTLAB_TIME_SCALE=1e9 runner_selftest -run Pass"
RAFTLAB_TIME_SCALE=1e9 "$prog" -run Pass >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 2
expect_err "RAFTLAB_TIME_SCALE must be a number above 0 and at most 1000, not '1e9'"
run -timeout 1e10 -run '^TestPass$'
expect_rc 2
expect_err "bad -timeout '1e10': want seconds, at most 1000000 (0 means no limit)"
what="RAFTLAB_TIME_SCALE=1000 runner_selftest -timeout 1000000 -run TestPass"
RAFTLAB_TIME_SCALE=1000 "$prog" -timeout 1000000 -run '^TestPass$' >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 0
expect_out_re '^ok +	selftest	'

what="RAFTLAB_LOG_DIR=(a file) runner_selftest -run Pass"
: >"$tmp/afile"
RAFTLAB_LOG_DIR=$tmp/afile/logs "$prog" -run Pass >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 2
expect_err "cannot write test logs in $tmp/afile/logs"

# ---- how failures are reported ----

run -run '^TestAssertFails$'
expect_rc 1
expect_out "Test: a failing assertion ..."
expect_out_re '^--- FAIL: TestAssertFails \([0-9]+\.[0-9]{2}s\)$'
expect_out_re "^        selftest\.c:$assert_line: CU_ASSERT_EQUAL\(1 \+ 1,3\)$"
expect_out_re "^        seed: 0x[0-9a-f]+  replay: "
expect_out "replay: $prog -run '^TestAssertFails\$' -seed 0x"
expect_out_re "^        log: $tmp/logs/selftest-TestAssertFails-0x[0-9a-f]+\.log$"
# Each failure once: the CUnit summary has the counts, not a second list;
# no CUnit banner.
expect_no_out "had failures"
expect_no_out "CUnit - A unit testing framework"
if [ "$(grep -c 'CU_ASSERT_EQUAL(1 + 1,3)' "$tmp/out")" -eq 1 ]; then ok; else
	bad "the failure should be printed once"; fi
expect_out "Run Summary:"
expect_out_re '^ +asserts +1 +1 +0 +1 +n/a$'
expect_out_re "^FAIL${tab}selftest${tab}[0-9.]+s$"
log=$(sed -n 's/^        log: //p' "$tmp/out")
if [ -f "$log" ] && grep -q "after the assertion" "$log" && grep -q "^--- FAIL" "$log"; then
	ok; else bad "the log $log should hold the output and the report"; fi

run -run '^TestFatal$'
expect_rc 1
expect_out_re "^        selftest\.c:$fatal_line: expected one leader, got 0$"
expect_out_re '^a line cut short$'
expect_out_re '^--- FAIL: TestFatal \([0-9]+\.[0-9]{2}s\)$'

# ---- crash reports: where it crashed, and the commands that show more ----

run -run '^TestSegfault$'
if grep -q "sanitizer_reports_crashes=1" "$tmp/out"; then
	# The sanitizer's own report (UBSan's, or ASan's or TSan's stack) names
	# the line.
	expect_rc 1
	expect_out_re "selftest\.c:$segv_line"
	run -run '^TestCrash$'
	expect_rc 1
	expect_out "        crashed: signal 6 (Aborted)"
else
	expect_rc 1
	expect_out_re "^        selftest\.c:$segv_line: crashed: signal 11 \(Segmentation fault\) in write_through_null$"
	if command -v gdb >/dev/null 2>&1; then
		expect_out "        the crashing thread (from gdb):"
		expect_out_re "^            #[0-9]+ .*write_through_null .*at runner/selftest\.c:$segv_line$"
	fi
	expect_out "        to stop at the crash in gdb:"
	expect_out_re "^            gdb -ex run --args .*runner_selftest -no-fork -run "
	expect_out " -no-fork -run '^TestSegfault\$' -seed 0x"
	expect_out "        AddressSanitizer names bad memory use where it happens:"
	expect_out_re "^            make (SIM=1 )?SAN=address && build/(sim-)?address/runner_selftest -run "
	expect_out_re '^--- FAIL: TestSegfault \(0\.[0-9]{2}s\)$'

	# Without gdb: the runner's own symbolizing (addr2line, from binutils).
	RAFTLAB_NO_GDB=1
	export RAFTLAB_NO_GDB
	run -run '^TestSegfault$'
	unset RAFTLAB_NO_GDB
	expect_rc 1
	expect_out "        the crashing thread (from its return addresses):"
	if command -v addr2line >/dev/null 2>&1; then
		expect_out_re "^        selftest\.c:$segv_line: crashed: signal 11 \(Segmentation fault\) in write_through_null$"
		expect_out_re "^            #0  write_through_null at .*runner/selftest\.c:$segv_line$"
	fi

	run -run '^TestCrash$'
	expect_rc 1
	expect_out "Test: a crash ..."
	expect_out_re "^        selftest\.c:$abort_line: crashed: signal 6 \(Aborted\) in test_crash$"
fi

run -run '^TestEarlyExit$'
expect_rc 1
expect_out "exited with status 0 before the test returned"

run -run '^TestLeak$'
if grep -q "leak_checked=1" "$tmp/out"; then
	expect_rc 1
	# Named where the leaked memory was allocated.
	expect_out_re "^        selftest\.c:[0-9]+: AddressSanitizer: 100 byte\(s\) leaked in 1 allocation\(s\), allocated in test_leak \(1 sanitizer report, whole in the log; exit status [0-9]+\)$"
else
	expect_rc 0
fi

run -run '^TestDataRace$' -results "$tmp/results"
if grep -q "race_checked=1" "$tmp/out"; then
	expect_rc 1
	expect_out "WARNING: ThreadSanitizer: data race"
	# The report's first line, at its file:line.
	expect_out_re "^        selftest\.c:[0-9]+: ThreadSanitizer: data race in race_writer \(1 sanitizer report, whole in the log; exit status [0-9]+\)$"
	if grep -qP '^TestDataRace\tsanitizer\t' "$tmp/results"; then ok; else
		bad "-results should give the data race the result 'sanitizer'"; fi
else
	expect_rc 0
fi

# ---- the watchdog ----

start=$(date +%s)
run -run '^TestHang$'
took=$(($(date +%s) - start))
expect_rc 1
expect_out_re '^--- FAIL: TestHang \(2\.[0-9]{2}s\)$'
expect_out "        TIMEOUT: killed after 2 s"
# CUnit's summary tells the run's real time, not its processor time.
expect_out_re '^Elapsed time = +[2-9]\.[0-9]{3} seconds$'
if grep -qE -e "where the test's [0-9]+ threads are \(gdb; no thread is in your code\):" "$tmp/out" &&
	grep -q "hang_helper" "$tmp/out"; then
	ok
	# One line per distinct place, and each distinct stack; every thread's
	# backtrace in the log, not on the terminal.
	expect_out_re "^            1 thread  blocked in pthread_cond_wait ← wait_for_signal \(runner/selftest\.c:$hang_line\)$"
	expect_out_re "^            1 thread  blocked in [a-z_]*join[a-z_]* ← test_hang \(runner/selftest\.c:[0-9]+\)$"
	expect_out "        each distinct stack:"
	expect_out "        every thread's backtrace: at the end of the log"
	expect_no_out "execute_test"
	log=$(sed -n 's/^        log: //p' "$tmp/out")
	if grep -qF "backtraces of every thread of the test (gdb):" "$log" &&
		grep -q "execute_test" "$log"; then ok; else
		bad "the log $log should end with every thread's whole backtrace"; fi

	# The student's files (here, by $RAFTLAB_STUDENT_FILES) come first.
	RAFTLAB_STUDENT_FILES=runner/selftest.c
	export RAFTLAB_STUDENT_FILES
	run -run '^TestHang$'
	unset RAFTLAB_STUDENT_FILES
	expect_out_re "^        where the test's [0-9]+ threads are \(gdb; yours first\):$"
	expect_out "        the stacks in your code:"
	# A helper of the student's is named with the function that called it.
	expect_out_re "^            1 thread  blocked in pthread_cond_wait ← wait_for_signal \(runner/selftest\.c:$hang_line\) ← hang_helper \(runner/selftest\.c:$helper_line\)$"
elif grep -qF -e "(install gdb to see the threads' backtraces)" "$tmp/out" ||
	grep -qF -e "(no backtraces: " "$tmp/out"; then
	ok
else
	bad "a timeout should show gdb's backtraces or say why not"
fi
expect_out "        its last 40 lines of output:"
expect_out "            tick 50"
expect_out "            tick 11"
expect_no_out "            tick 10"
expect_out_re "replay: .* -run '\^TestHang\\\$' -seed 0x"
if [ "$took" -lt 35 ]; then ok; else bad "the hang took $took s to kill"; fi
pid=$(sed -n 's/^pid=//p' "$tmp/out")
if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then ok; else
	bad "the hung test process ($pid) should be gone"; fi

# No gdb on the PATH: the hint instead; the time scale and -timeout apply.
what="PATH=(empty) RAFTLAB_TIME_SCALE=0.5 runner_selftest -run TestHang"
PATH=$tmp/nobin RAFTLAB_TIME_SCALE=0.5 "$prog" -run TestHang >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 1
expect_out "        TIMEOUT: killed after 1 s (2 s x time scale 0.5)"
expect_out "        (install gdb to see the threads' backtraces)"

# A gdb that cannot attach (as under a strict ptrace policy) is reported.
mkdir "$tmp/fakebin"
printf '#!/bin/sh\necho "ptrace: Operation not permitted."\nexit 1\n' >"$tmp/fakebin/gdb"
chmod +x "$tmp/fakebin/gdb"
what="PATH=(a gdb that cannot attach) runner_selftest -run TestHang -timeout 1"
PATH=$tmp/fakebin "$prog" -run TestHang -timeout 1 >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 1
expect_out "        (no backtraces: gdb could not attach)"
expect_out "            tick 50"

# -parallel 3: three hung tests killed together, not one after another.
what="PATH=(empty) runner_selftest -run TestHang -timeout 1 -count 3 -parallel 3"
start=$(date +%s)
PATH=$tmp/nobin "$prog" -run TestHang -timeout 1 -count 3 -parallel 3 >"$tmp/out" 2>"$tmp/err"
rc=$?
took=$(($(date +%s) - start))
expect_rc 1
if [ "$(grep -c "^        TIMEOUT: killed after 1 s$" "$tmp/out")" -eq 3 ]; then ok; else
	bad "three timeouts expected"; fi
if [ "$took" -lt 3 ]; then ok; else bad "-parallel 3 took $took s for three 1 s hangs"; fi

# ---- seeds and replay ----

run -seed 0x2a -run TestSeed
expect_rc 0
expect_out "runner_seed=0x2a RAFTLAB_SEED=0x2a"

run -seed 42 -run TestSeed
expect_out "runner_seed=0x2a RAFTLAB_SEED=0x2a"

export RAFTLAB_FLAKY=1
run -seed 3 -run TestFlaky
expect_rc 1
expect_out "odd seed 0x3"
run -seed 4 -run TestFlaky
expect_rc 0

# A failure found with fresh seeds replays with the printed command.
run -run TestFlaky -count 20
expect_rc 1
expect_out_re '^ +tests +20 +20 '
replay=$(sed -n 's/^        seed: \(0x[0-9a-f]*\)  replay: //p' "$tmp/out" | head -n 1)
seed=$(sed -n 's/^        seed: \(0x[0-9a-f]*\)  replay: .*/\1/p' "$tmp/out" | head -n 1)
what="$replay"
eval "$replay" >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 1
expect_out "odd seed $seed"
unset RAFTLAB_FLAKY

# ---- -count, -parallel, -v ----

run -count 3 -run '^TestPass$'
expect_rc 0
expect_out_re '^ +tests +3 +3 +3 +0 +0$'

run -parallel 3 -count 2 -v -run 'Pass|AssertFails|Seed|Fatal'
expect_rc 1
expect_out_re '^ +tests +8 +8 +4 +4 +0$'
if [ "$(grep -c '^--- FAIL: TestAssertFails' "$tmp/out")" -eq 2 ]; then ok; else
	bad "two failures of TestAssertFails expected"; fi
# Each test's output comes whole: its lines are never split by another's.
if awk '/^=== RUN   TestAssertFails/ { n = NR }
	n && NR == n + 1 && $0 != "Test: a failing assertion ..." { bad = 1 }
	n && NR == n + 2 && $0 != "after the assertion" { bad = 1 }
	n && NR == n + 3 && $0 !~ /^--- FAIL: TestAssertFails/ { bad = 1 }
	END { exit bad }' "$tmp/out"; then ok; else
	bad "-parallel output of a test should not be interleaved"; fi

# ---- -no-fork ----

run -no-fork -run '^TestPass$'
expect_rc 0
expect_out "Run Summary:"

run -no-fork -seed 0x2a -run TestSeed
expect_rc 0
expect_out "runner_seed=0x2a RAFTLAB_SEED=0x2a"

run -no-fork -run '^TestAssertFails$'
expect_rc 1
expect_out_re "^        selftest\.c:$assert_line: CU_ASSERT_EQUAL\(1 \+ 1,3\)$"
expect_out "Run Summary:"
expect_no_out "log: "

run -no-fork -run '^TestFatal$'
expect_rc 1
expect_out "--- FAIL: TestFatal"
expect_out_re "^        selftest\.c:$fatal_line: expected one leader, got 0$"

run -no-fork -run '^TestEarlyExit$'
expect_rc 1
expect_out "the program exited before the test returned"

# ---- stop signals kill the running tests: no orphans ----

# stop_check SIGNAL STATUS [PREFIX...]: starts the hang test without a
# watchdog, sends SIGNAL to the runner once the test runs, expects STATUS.
stop_check() {
	sig=$1
	want=$2
	shift 2
	what="kill -$sig runner_selftest -run TestHang -timeout 0"
	: >"$tmp/out"
	"$@" "$prog" -run TestHang -timeout 0 >"$tmp/out" 2>"$tmp/err" &
	runner=$!
	i=0
	while ! grep -q '^pid=' "$tmp/out" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -"$sig" "$runner"
	wait "$runner"
	rc=$?
	expect_rc "$want"
	expect_out "interrupted by signal"
	expect_err "stopped by signal"
	pid=$(sed -n 's/^pid=//p' "$tmp/out")
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then ok; else
		bad "the test process ($pid) outlived the runner"; fi
}
stop_check TERM 143
# A background job of a script starts with SIGINT ignored (and the runner
# leaves it so); env --default-signal gives it back its default.
if env --default-signal=INT true 2>/dev/null; then
	stop_check INT 130 env --default-signal=INT
fi

echo "runner_selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
