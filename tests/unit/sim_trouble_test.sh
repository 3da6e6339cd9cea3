#!/usr/bin/env bash
# sim_trouble_test.sh: checks that simulation mode stops what it cannot run
# and says why (tests/unit/sim_trouble.c): each test's failure message, and for a
# stuck process the thread table and the backtraces the runner takes.
#
#   tests/unit/sim_trouble_test.sh PROGRAM      (build/tests/unit/sim_trouble)
set -u
prog=${1:?usage: tests/unit/sim_trouble_test.sh build/tests/unit/sim_trouble}
[ -x "$prog" ] || { echo "sim_trouble_test: no $prog (make SIM=1 first)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sim-trouble.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# expect TEST STATUS TEXT...: runs TEST alone; its exit status must be
# STATUS and its output must hold every TEXT (fixed strings).
expect() {
	local name=$1 want=$2 text
	shift 2
	RAFTLAB_LOG_DIR=$tmp timeout 60 "$prog" -run "^$name\$" >"$tmp/out" 2>&1
	local rc=$?
	local ok=true
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit status $rc, want $want"
		ok=false
	fi
	for text in "$@"; do
		if ! grep -qF -- "$text" "$tmp/out"; then
			echo "FAIL $name: no '$text' in its output"
			ok=false
		fi
	done
	if $ok; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		sed 's/^/    | /' "$tmp/out" | head -40
	fi
}

stuck_extra=("threads:" "thread 0 (LWP ")
deadlock_extra=()
if command -v gdb >/dev/null 2>&1; then
	stuck_extra+=("threads are (gdb; " "each distinct stack:")
	# the hang report's summary: where each thread waits, by its call
	deadlock_extra+=("1 thread  blocked in pthread_mutex_lock ← lock_b_then_a (tests/unit/sim_trouble.c:52)")
fi

expect TestFine 0 "PASS"
expect TestBusyLoop 1 "--- FAIL: TestBusyLoop" \
	"busy loop: thread 0 (LWP " "ran for 1.0 s of CPU time without reaching a scheduling point" \
	"Only one thread runs at a time in simulation mode" "${stuck_extra[@]}"
expect TestDeadlock 1 "--- FAIL: TestDeadlock" \
	"deadlock: every thread waits, and none has a deadline that could wake it" \
	"pthread_mutex_lock(" ", held by thread 1" ", held by thread 0" "${stuck_extra[@]}" \
	"${deadlock_extra[@]}"
expect TestSelfLock 1 "--- FAIL: TestSelfLock" \
	"deadlock: thread 0 calls pthread_mutex_lock on a mutex" "that it already holds" \
	"${stuck_extra[@]}"
expect TestUnlockNotHeld 1 "--- FAIL: TestUnlockNotHeld" \
	"thread 0 calls pthread_mutex_unlock on a mutex" "that is not locked"
expect TestPoll 1 "--- FAIL: TestPoll" \
	"poll() would block outside the simulation's scheduler"
expect TestVirtualTimeout 1 "--- FAIL: TestVirtualTimeout (5." \
	"TIMEOUT: killed after 5 s of virtual time" "${stuck_extra[@]}"

echo "sim_trouble_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
