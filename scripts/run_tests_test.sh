#!/bin/sh
# run_tests_test.sh: checks the stress runner (run-tests.sh) from the
# outside, against the runner's self-test program (runner/selftest.c),
# whose tests pass, fail, hang, or fail for odd seeds only. Checks the counts
# in the table, timeouts, exit statuses and the saved logs of failed runs.
#
#   usage: scripts/run_tests_test.sh PATH/TO/runner_selftest
set -u

prog=${1:?usage: $0 PATH/TO/runner_selftest}
case $prog in /*) ;; *) prog=$PWD/$prog ;; esac
script=$(cd "$(dirname "$0")/.." && pwd)/run-tests.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/run_tests_test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
RAFTLAB_TIME_SCALE=1
export RAFTLAB_TIME_SCALE
unset RAFTLAB_FLAKY RAFTLAB_DEBUG RAFTLAB_TOPICS
# shellcheck disable=SC3045
ulimit -c 0 2>/dev/null

passed=0
failed=0
what=""

# rt ARGS...: runs run-tests.sh on the self-test program, logs into
# $tmp/logs; stdout in $tmp/out, stderr in $tmp/err, status in $rc.
rt() {
	what="run-tests.sh $*"
	rm -rf "$tmp/logs"
	"$script" --program "$prog" -o "$tmp/logs" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
tab=$(printf '\t')
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n  after: %s\n' "$1" "$what"
	sed 's/^/  stdout| /' "$tmp/out" | tail -n 30
	sed 's/^/  stderr| /' "$tmp/err" | head -n 10
}
expect_rc() { if [ "$rc" -eq "$1" ]; then ok; else bad "exit status $rc, want $1"; fi; }
expect_out() { if grep -qE -e "$1" "$tmp/out"; then ok; else bad "stdout has no line matching: $1"; fi; }
expect_err() { if grep -qF -e "$1" "$tmp/err"; then ok; else bad "stderr lacks: $1"; fi; }
# expect_row TEST RUNS PASSED FAILED TIMEOUT: the table's row for TEST.
expect_row() {
	expect_out "^$1 +$2 +$3 +$4 +$5 +[0-9]+\.[0-9]{2}s +[0-9]+\.[0-9]{2}s$"
}
# expect_logs N: N saved logs.
expect_logs() {
	n=$(find "$tmp/logs" -name '*.log' 2>/dev/null | wc -l)
	if [ "$n" -eq "$1" ]; then ok; else bad "$n saved logs, want $1"; fi
}

# ---- usage ----
rt -h
expect_rc 0
expect_out '^usage: \./run-tests\.sh \[options\] \[PATTERN \.\.\.\]$'

rt --bogus
expect_rc 2
expect_err "unknown option --bogus"

rt -n 0 Pass
expect_rc 2
expect_err "-n needs a positive number"

rt NoSuchTest
expect_rc 2
expect_err "no test matches 'NoSuchTest'"

rt '('
expect_rc 2
expect_err "bad pattern '('"

# A value that is the next option: "-o -v" forgot the folder.
rt -n 1 -o -v Pass
expect_rc 2
expect_err "option -o needs a value, not the option '-v'"

rt --race --asan Pass
expect_rc 2
expect_err "--race and --asan exclude each other: pick one sanitizer"

# A log folder that cannot be made is an error before any test runs.
: >"$tmp/a-file"
what="run-tests.sh -o (under a file)"
"$script" --program "$prog" -o "$tmp/a-file/logs" -n 1 AssertFails >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 2
expect_err "cannot create the log folder $tmp/a-file/logs (-o): give a folder you can write"
if grep -q 'AssertFails' "$tmp/out"; then bad "a test ran despite the bad log folder"; else ok; fi
what="run-tests.sh -o (a file)"
"$script" --program "$prog" -o "$tmp/a-file" -n 1 AssertFails >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 2
expect_err "the log folder $tmp/a-file (-o) is a file: give a folder"

# A log folder lost while the tests run: the failure says its log was not
# written, and the summary points at no folder. (The wrapper replaces the
# folder by a file when the test starts; -list, run-tests.sh's check of the
# program, is left alone.)
cat >"$tmp/wrapper" <<EOF
#!/bin/sh
case "\$*" in *-list*) ;; *) rm -rf "$tmp/gone"; : >"$tmp/gone" ;; esac
exec "$prog" "\$@"
EOF
chmod +x "$tmp/wrapper"
what="run-tests.sh -o (folder lost during the run)"
"$script" --program "$tmp/wrapper" -o "$tmp/gone" -n 1 AssertFails >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 1
expect_out "^FAIL +TestAssertFails +seed=0x[0-9a-f]+ +[0-9.]+s +log: not written \\(could not write in $tmp/gone\\)$"
if grep -q 'logs of the failed runs are in' "$tmp/out"; then
	bad "the summary points at logs that were not written"; else ok; fi
expect_err "1 failed run(s) lost their log: could not write in $tmp/gone"

# A log folder that this run made and left empty is removed.
what="run-tests.sh -o (new folder, all passed)"
"$script" --program "$prog" -o "$tmp/fresh/logs" -n 1 Pass >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 0
if [ -e "$tmp/fresh/logs" ]; then bad "an empty log folder was left behind"; else ok; fi

what="run-tests.sh --program (a folder)"
"$script" --program "$tmp" -n 1 Pass >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 2
expect_err "--program $tmp is not an executable file (a test program, such as build/default/raft_test)"
what="run-tests.sh --program /bin/false"
"$script" --program /bin/false -n 1 Pass >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 2
expect_err "--program /bin/false is not a raftlab test program"

# ---- passing runs: counts, plain lines, no logs kept ----
rt -n 4 -p 2 '^TestPass$'
expect_rc 0
expect_row TestPass 4 4 0 0
expect_out '^4 runs in [0-9]+:[0-9]{2}: 4 passed, 0 failed, 0 timed out$'
if [ "$(grep -cE '^PASS    TestPass  seed=0x[0-9a-f]+' "$tmp/out")" -eq 4 ]; then ok; else
	bad "four plain PASS lines expected (stdout is not a terminal)"; fi
if [ ! -e "$tmp/logs" ]; then ok; else bad "no log folder for passing runs"; fi

rt -n 2 --keep-passing -d Pass
expect_rc 0
expect_logs 2
if grep -q "^# replay: RAFTLAB_DEBUG=1 $prog -run '^TestPass\$' -seed 0x" "$tmp"/logs/*.log; then
	ok; else bad "a kept log should start with its replay command, with -d's RAFTLAB_DEBUG"; fi

# ---- failing runs: counts, logs with their seed and replay command ----
rt -n 3 -p 3 'Pass|AssertFails'
expect_rc 1
expect_row TestPass 3 3 0 0
expect_row TestAssertFails 3 0 3 0
expect_out '^6 runs in .*: 3 passed, 3 failed, 0 timed out$'
expect_out '^FAIL    TestAssertFails  seed=0x[0-9a-f]+  [0-9.]+s  log: .*/TestAssertFails-0x[0-9a-f]+\.log$'
expect_out '^        selftest\.c:[0-9]+: CU_ASSERT_EQUAL\(1 \+ 1,3\)$'
expect_logs 3
for log in "$tmp"/logs/*.log; do
	seed=$(basename "$log" .log | sed 's/.*-//')
	if head -n 2 "$log" | grep -qF "# replay: $prog -run '^TestAssertFails\$' -seed $seed" &&
		grep -q '^Test: a failing assertion' "$log" &&
		grep -qF "        log: $log" "$log"; then ok; else
		bad "$log should hold the replay command, the output, and point at itself"; fi
done

# A failure found with random seeds replays from its saved log.
RAFTLAB_FLAKY=1
export RAFTLAB_FLAKY
rt -n 16 -p 4 Flaky
expect_rc 1
nfail=$(find "$tmp/logs" -name '*.log' | wc -l)
if grep -qE "^TestFlaky +16 +$((16 - nfail)) +$nfail +0 " "$tmp/out"; then ok; else
	bad "the table should count the $nfail saved failures"; fi
log=$(find "$tmp/logs" -name '*.log' | head -n 1)
replay=$(sed -n 's/^# replay: //p' "$log")
what=$replay
eval "$replay" >"$tmp/out" 2>&1
rc=$?
expect_rc 1
expect_out "odd seed $(basename "$log" .log | sed 's/.*-//')"

rt --seed 3 Flaky
expect_rc 1
expect_row TestFlaky 1 0 1 0
if [ -f "$tmp/logs/TestFlaky-0x3.log" ]; then ok; else bad "TestFlaky-0x3.log expected"; fi
rt --seed 4 -n 3 Flaky
expect_rc 0
expect_row TestFlaky 3 3 0 0
unset RAFTLAB_FLAKY

# ---- a failure's message comes whole from the program's -results file ----
rt -n 1 LongMessage
expect_rc 1
expect_row TestLongMessage 1 0 1 0
expect_out '^        selftest\.c:[0-9]+: get wrong value, key 0, wanted:$'
expect_out "^        x${tab}y\\\\z$"
expect_out '^        but got:$'

# ---- timeouts are counted apart, and parallel slots are used ----
start=$(date +%s)
rt -n 3 -p 3 --timeout 1 'Hang|Pass'
took=$(($(date +%s) - start))
expect_rc 1
expect_row TestHang 3 0 0 3
expect_row TestPass 3 3 0 0
expect_out '^TIMEOUT TestHang  seed=0x[0-9a-f]+ .* log: '
expect_logs 3
if grep -q '        TIMEOUT: killed after 1 s' "$tmp"/logs/TestHang-*.log; then ok; else
	bad "a timed-out run's log should hold the watchdog's report"; fi
if [ "$took" -lt 12 ]; then ok; else bad "three 1 s hangs on three slots took $took s"; fi

# ---- --fail-fast stops at the first failure ----
rt --fail-fast -n 5 -p 1 AssertFails
expect_rc 1
expect_row TestAssertFails 1 0 1 0
expect_out '\(4 not run\)$'

echo "run_tests_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
