#!/usr/bin/env bash
# mutants_test.sh: tests the mutation harness's guard on where a patch lands
# (check_hunk_places in scripts/mutant_names.sh), through both scripts that
# use it: scripts/mutants.sh --dry-run and scripts/rebase_mutants.sh, run in
# a scratch copy of the scripts, the reference sources and mutants/. A
# patch that lands in another function than its @@ line names (mutant 12's
# old form, which a fuzzed rebase had put into append_entries_handler) must
# be refused by both, naming the mutant, the hunk and both functions; a
# patch without function names in its @@ lines must be refused by
# mutants.sh; the mutants as they are must pass, also after the reference
# moved them by a few lines. It runs no test suite and builds nothing.
#
#   usage: scripts/mutants_test.sh     (from the repository)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mutants_test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n  after: %s\n' "$1" "$what"
	tail -n 15 "$tmp/out" | sed 's/^/  out| /'
}
# expect STATUS TEXT: the last command exited with STATUS and said TEXT
expect() {
	if [ "$rc" -eq "$1" ]; then ok; else bad "exit status $rc, not $1"; fi
	if [ -z "$2" ] || grep -qF -- "$2" "$tmp/out"; then ok; else bad "it should say: $2"; fi
}

p12=mutants/raft/12-rv-term-update-without-step-down.patch
# A world: the scripts, the reference sources and the mutants as they are.
fresh_world() {
	rm -rf "$tmp/w"
	mkdir -p "$tmp/w/scripts" "$tmp/w/raft" "$tmp/w/kvraft"
	cp "$root"/scripts/{mutants,rebase_mutants,mutant_names}.sh "$tmp/w/scripts/"
	cp "$root/raft/raft.c" "$tmp/w/raft/"
	cp "$root"/kvraft/*.c "$tmp/w/kvraft/"
	cp "$root/.clang-format" "$tmp/w/"
	cp -r "$root/mutants" "$tmp/w/"
}
run() { # SCRIPT ARGS...: in the world, its output in $tmp/out, status in rc
	local script=$1
	shift
	(cd "$tmp/w" && "scripts/$script" "$@") >"$tmp/out" 2>&1
	rc=$?
}

# Mutant 12 as a fuzzed rebase left it: the step-down skipped in
# append_entries_handler (which steps down right after, masking the bug),
# not in request_vote_handler. WRONG_TEXT is its @@ line's function text.
wrong_p12() { # WRONG_TEXT
	sed -n '1,4p' "$root/$p12"
	cat <<EOF
--- a/raft/raft.c
+++ b/raft/raft.c
@@ -1225,8 +1225,11 @@${1:+ $1}
 	pthread_mutex_lock(&rf->mu);
 	if (rf->dead)
 		goto out;
-	if (args->term > rf->current_term)
-		dirty = become_follower(rf, args->term);
+	if (args->term > rf->current_term) {
+		rf->current_term = args->term;
+		rf->voted_for = NO_VOTE;
+		dirty = true;
+	}
 	reply->term = rf->current_term;
 	reply->log_len = last_index(rf) + 1;
 	if (args->term < rf->current_term)
EOF
}

# ---- the mutants as they are ----
fresh_world
what="scripts/mutants.sh --dry-run (every mutant)"
run mutants.sh --dry-run
expect 0 "all $(find "$root/mutants" -name '*.patch' | wc -l) mutant(s) apply without fuzz"
what="scripts/rebase_mutants.sh (every mutant)"
run rebase_mutants.sh
expect 0 "0 rewritten,"
if diff -r "$root/mutants" "$tmp/w/mutants" >/dev/null; then ok; else
	bad "rebase_mutants.sh should leave patches that fit the reference as they are"; fi

# The reference moved by five lines: same functions, so both accept it.
what="mutant 12 after five lines were added at the top of raft/raft.c"
fresh_world
{ printf '/* moved */\n%.0s' 1 2 3 4 5; cat "$root/raft/raft.c"; } >"$tmp/w/raft/raft.c"
run mutants.sh -n 12-rv
expect 0 "all 1 mutant(s) apply"
run rebase_mutants.sh 12-rv
expect 0 "1 rewritten, 0 unchanged, 0 to redo by hand"
if grep -q '^@@ .* @@ static void request_vote_handler(' "$tmp/w/$p12"; then ok; else
	bad "the rewritten patch should still name request_vote_handler"; fi
if [ "$(diff "$root/$p12" "$tmp/w/$p12" | grep -c '^[<>] [^@]')" -eq 0 ]; then ok; else
	bad "the rewritten patch should differ in its @@ line only"; fi

# ---- a patch moved into another function ----
fresh_world
wrong_p12 "static void request_vote_handler(void *r" >"$tmp/w/$p12"
cp "$tmp/w/$p12" "$tmp/wrong"
what="the test's own wrong patch 12, as a plain patch"
(cd "$tmp/w" && patch -p1 --dry-run --batch --silent -F0 <"$tmp/wrong") >"$tmp/out" 2>&1 ||
	bad "it no longer applies to append_entries_handler of raft/raft.c: update wrong_p12 in $0"
moved="mutant 12-rv-term-update-without-step-down: hunk 1 belongs in request_vote_handler of raft/raft.c (its @@ line) but landed in append_entries_handler of raft/raft.c"
what="scripts/mutants.sh -n on a patch 12 that lands in append_entries_handler"
run mutants.sh -n 12-rv
expect 2 "$moved"
expect 2 "nothing was run"
what="scripts/mutants.sh (a real run) on the same"
run mutants.sh --sim-budget 1 --no-real 12-rv
expect 2 "$moved"
if ! grep -q '^building' "$tmp/out"; then ok; else bad "it should refuse before building anything"; fi
what="scripts/rebase_mutants.sh on the same"
run rebase_mutants.sh 12-rv
expect 1 "FAIL $p12: applied, but not where it was made"
expect 1 "$moved"
expect 1 "0 rewritten, 0 unchanged, 1 to redo by hand"
if cmp -s "$tmp/wrong" "$tmp/w/$p12"; then ok; else bad "rebase_mutants.sh should leave the patch as it was"; fi

# ---- a hand-made patch without function names ----
fresh_world
wrong_p12 "" >"$tmp/w/$p12"
what="scripts/mutants.sh -n on a patch whose @@ line names no function"
run mutants.sh -n 12-rv
expect 2 "mutant 12-rv-term-update-without-step-down: its @@ lines name no function"
expect 2 "take it again with diff -u -p"
# rebase_mutants.sh is how such a patch gets its names: it takes it with a
# warning naming where each hunk landed, for the instructor to check.
what="scripts/rebase_mutants.sh on the same"
run rebase_mutants.sh 12-rv
expect 0 "WARNING: its @@ lines named no function"
expect 0 "hunk 1: in append_entries_handler of raft/raft.c"

# ---- check_hunk_places itself ----
what="check_hunk_places on hand-written diffs"
# shellcheck source=scripts/mutant_names.sh
. "$root/scripts/mutant_names.sh"
hunk() { # START FUNCTION-TEXT: a one-line change, context lines that look like headers
	printf '@@ -%d,2 +%d,2 @@ %s\n --- not a header\n-++ x\n+++ y\n' "$1" "$1" "$2"
}
{ echo '--- a/f.c'; echo '+++ b/f.c'; hunk 10 'int one(void)'; hunk 40 'static int *two(int a'; } >"$tmp/two"
{ echo '--- a/f.c'; echo '+++ b/f.c'; hunk 12 'int one(void)'; hunk 45 'static int *two(int a'; } >"$tmp/moved"
{ echo '--- a/f.c'; echo '+++ b/f.c'; hunk 10 'int one(void)'; hunk 40 'int three(void)'; } >"$tmp/other"
{ echo '--- a/f.c'; echo '+++ b/f.c'; hunk 10 'int one(void)'; } >"$tmp/one"
if [ "$(hunk_places "$tmp/two" | cut -f2 | tr '\n' '|')" = 'int one(void)|static int *two(int a|' ]; then ok; else
	hunk_places "$tmp/two" >"$tmp/out"; bad "hunk_places should see two hunks, not take their lines for headers"; fi
check_hunk_places "$tmp/two" "$tmp/moved" 2>"$tmp/out"
rc=$?
expect 0 ""
check_hunk_places "$tmp/two" "$tmp/other" 2>"$tmp/out"
rc=$?
expect 1 "mutant two: hunk 2 belongs in two of f.c (its @@ line) but landed in three of f.c"
check_hunk_places "$tmp/two" "$tmp/one" 2>"$tmp/out"
rc=$?
expect 1 "mutant two: it has 2 hunk(s), but 1 once applied"

echo "mutants_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
