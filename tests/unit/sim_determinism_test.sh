#!/usr/bin/env bash
# sim_determinism_test.sh: simulation mode's promise, tested. Each selected
# test runs twice with one seed, with debug logging on, and the two outputs
# (the test's lines, every debug line with its virtual timestamp, the
# Passed line's counts) must be byte-identical; a run with another seed must
# differ. Only the lines of real time, the runner's closing "ok ... 1.234s"
# and CUnit's "Elapsed time = 1.234 seconds", are left out of the
# comparison.
#
#   tests/unit/sim_determinism_test.sh BUILD_DIR     (a SIM=1 build, e.g. build/sim)
set -u

dir=${1:?usage: tests/unit/sim_determinism_test.sh BUILD_DIR (a make SIM=1 build)}
for prog in raft_test kvraft_test; do
	[ -x "$dir/$prog" ] || { echo "sim_determinism_test: no $dir/$prog (make SIM=1 first)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sim-determinism.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# Tests with crashes, partitions, an unreliable network, long reordering,
# snapshots, many clients and a linearizability check between them.
cases=(
	"raft_test TestFigure8Unreliable3C"
	"raft_test TestSnapshotInstallUnCrash3D"
	"raft_test TestBackup3B"
	"kvraft_test TestUnreliableOneKey4A"
	"kvraft_test TestSnapshotUnreliableRecoverConcurrentPartition4B"
)
seed_a=0x5eed0001
seed_b=0x5eed0002
failed=0

run() { # PROGRAM TEST SEED OUT
	RAFTLAB_DEBUG=1 RAFTLAB_LOG_DIR=$tmp "$dir/$1" -run "^$2\$" -seed "$3" -v \
		>"$4.raw" 2>&1
	local rc=$?
	grep -v $'^ok  \t\|^FAIL\t\|^Elapsed time = ' "$4.raw" >"$4"
	return $rc
}

for c in "${cases[@]}"; do
	read -r prog name <<<"$c"
	run "$prog" "$name" $seed_a "$tmp/a1" || { echo "FAIL $name: did not pass with seed $seed_a"; sed -n '/--- FAIL/,$p' "$tmp/a1" | head -20; failed=$((failed + 1)); continue; }
	run "$prog" "$name" $seed_a "$tmp/a2"
	run "$prog" "$name" $seed_b "$tmp/b"
	lines=$(wc -l <"$tmp/a1")
	if ! cmp -s "$tmp/a1" "$tmp/a2"; then
		echo "FAIL $name: two runs with seed $seed_a differ:"
		diff "$tmp/a1" "$tmp/a2" | head -10
		failed=$((failed + 1))
	elif cmp -s "$tmp/a1" "$tmp/b"; then
		echo "FAIL $name: seeds $seed_a and $seed_b gave the same $lines lines"
		failed=$((failed + 1))
	elif [ "$lines" -lt 50 ]; then
		echo "FAIL $name: only $lines lines of output: is debug logging on?"
		failed=$((failed + 1))
	else
		echo "ok   $name: $lines lines, identical for one seed, different for another"
	fi
done
echo "sim_determinism_test: $((${#cases[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
