#!/usr/bin/env bash
# handout_test.sh: makes the student handout (scripts/handout.sh), builds
# it in a temporary folder outside the repository, runs one test there
# against the skeleton (it fails, as it should) and against the reference
# raft.c (it passes), and checks that the handout ships only what a
# student uses: none of the framework's own tests or instructor scripts,
# no advertised target that fails, no mention of the skeleton folders.
#
#   usage: scripts/handout_test.sh     (from the repository)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/handout_test.XXXXXX") || exit 2
name=handout-test.$$
trap 'rm -rf "$tmp" "$root/$name" "$root/$name.tar.gz"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n  after: %s\n' "$1" "$what"
	tail -n 15 "$tmp/out" | sed 's/^/  out| /'
}

what="scripts/handout.sh"
(cd "$root" && scripts/handout.sh "$name") >"$tmp/out" 2>&1 || bad "scripts/handout.sh failed"
mv "$root/$name" "$tmp/handout"
h=$tmp/handout

# ---- what it ships ----
what="the handout's files"
for f in raft/raft.c kvraft/client.c kvraft/server.c raft/raft.h kvraft/kvraft.h \
	Makefile README.md run-tests.sh tests/raft_test.c tests/kvraft_test.c tools/logview \
	tests/unit/labrpc_test.c tests/bench/labrpc_bench.c config/tester.c \
	runner/runner.h runner/runner_int.h runner/runner.c runner/options.c runner/supervise.c \
	runner/diagnose.c runner/report.c runner/buf.c; do
	if [ -f "$h/$f" ]; then ok; else bad "the handout should have $f"; fi
done
for f in runner/selftest.c runner/selftest.sh tests/fuzz tools/testdata \
	scripts/run_tests_test.sh scripts/handout_test.sh scripts/grade_test.sh \
	scripts/autograder_test.sh tools/logview_test.sh tools/lincheck_cli_test.sh \
	tools/lincheck_html_test.sh tests/unit/sim_trouble.c tests/unit/sim_trouble_test.sh \
	tests/unit/sim_determinism_test.sh tests/bench/kv_bench.c \
	scripts/handout.sh scripts/fuzz.sh \
	scripts/mutants.sh scripts/rebase_mutants.sh scripts/mutant_names.sh scripts/mutants_test.sh scripts/autograder.sh mutants raft/skeleton kvraft/skeleton .ci \
	tests/bench/figure16.c tests/bench/figure16_test.sh scripts/figure16.py docs/figure16.svg; do
	if [ ! -e "$h/$f" ]; then ok; else bad "the handout should not have $f (not a student's)"; fi
done
if ! grep -rn 'skeleton/' "$h/README.md" "$h"/*/*.h >"$tmp/out"; then ok; else
	bad "the handout's README and headers should not name the skeleton folders"; fi
if ! grep -nE '^#   make (RAFT=skeleton|KV=skeleton|handout|autograder|fuzz|figure16)|^#   .*make fuzz' "$h/Makefile" >"$tmp/out"; then ok; else
	bad "the handout's Makefile should not advertise repository-only targets"; fi
echo "handout_test: $(find "$h" -type f | wc -l) files, $(find "$h/tests" -type f | wc -l) under tests/"

# ---- every advertised target exists, and the scripts it runs are there ----
targets=$(sed -n 's/^#   make \([a-z][a-z-]*\) .*/\1/p; s/^#   make \([a-z][a-z-]*\)$/\1/p' "$h/Makefile")
for t in $targets; do
	what="make -n $t (in the handout)"
	if make -s -n -C "$h" "$t" >"$tmp/out" 2>&1; then ok; else bad "advertised target $t fails"; continue; fi
	missing=""
	# the scripts and sources it names (not the objects it would build)
	for p in $(grep -oE '(^|[ "])(scripts|tests|tools|runner)/[A-Za-z0-9_./-]+' "$tmp/out" |
		sed 's/^[ "]//' | grep -v '\.[od]$' | sort -u); do
		[ -e "$h/$p" ] || missing="$missing $p"
	done
	if [ -z "$missing" ]; then ok; else bad "make $t runs what the handout lacks:$missing"; fi
done
what="make selftest (in the handout)"
make -s -C "$h" selftest >"$tmp/out" 2>&1
if [ $? -eq 2 ] && grep -q "in the raftlab repository, not in the handout" "$tmp/out"; then ok; else
	bad "the framework's own tests should be refused with a clear message"; fi
what="make RAFT=skeleton (in the handout)"
make -s -C "$h" RAFT=skeleton all >"$tmp/out" 2>&1
if [ $? -ne 0 ] && grep -q "raft/raft.c is the skeleton already" "$tmp/out"; then ok; else
	bad "RAFT=skeleton should be refused with a clear message"; fi

# ---- it builds outside the repository, and a test runs there ----
what="make all (in the handout)"
make -s -C "$h" -j2 all >"$tmp/out" 2>&1 && ok || bad "the handout should build"
what="raft_test -run '^TestInitialElection3A\$' (the skeleton)"
(cd "$h" && RAFTLAB_LOG_DIR=$tmp/logs build/default/raft_test -run '^TestInitialElection3A$') >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^--- FAIL: TestInitialElection3A' "$tmp/out"; then ok; else
	bad "the skeleton should fail TestInitialElection3A (exit status $rc)"; fi
# As README says to: make test T=PATTERN, the pattern as it is written.
what="make test T='^TestInitialElection3A\$' RUN=-v (the reference raft.c)"
cp "$root/raft/raft.c" "$h/raft/raft.c"
make -s -C "$h" -j2 build/default/raft_test >"$tmp/out" 2>&1 || bad "the handout should build with a full raft.c"
RAFTLAB_LOG_DIR=$tmp/logs make -s -C "$h" test T='^TestInitialElection3A$' RUN=-v >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^ok  ' "$tmp/out"; then ok; else
	bad "a full raft.c should pass TestInitialElection3A in the handout (exit status $rc)"; fi
if [ "$(grep -c '^=== RUN' "$tmp/out")" -eq 1 ] && grep -q '^=== RUN   TestInitialElection3A ' "$tmp/out"; then ok; else
	bad "make test T='^TestInitialElection3A\$' should run that one test"; fi

echo "handout_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
