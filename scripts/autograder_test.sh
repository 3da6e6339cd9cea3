#!/usr/bin/env bash
# autograder_test.sh: tests make autograder's zip as Gradescope would use it:
# unpacks build/autograder.zip (made for part 3A) into a fake /autograder,
# and runs run_autograder on three submissions: the reference raft.c (every
# 3A test passes, full score), one that does not compile (score 0, the
# compiler's messages as output), and one with two raft.c (refused). Each
# results.json is checked against Gradescope's schema.
#
#   usage: scripts/autograder_test.sh     (from the repository; needs python3)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/autograder_test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n  after: %s\n' "$1" "$what"
	tail -n 20 "$tmp/out" | sed 's/^/  out| /'
}
expect_json() { # PYTHON-EXPRESSION on r, the results, DESCRIPTION
	if python3 -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
		"$tmp/ag/results/results.json" 2>/dev/null; then ok; else bad "$2"; fi
}
check_schema() {
	if python3 "$root/scripts/check_results_json.py" "$tmp/ag/results/results.json" >"$tmp/check" 2>&1; then
		ok; else bad "results.json should fit Gradescope's schema: $(cat "$tmp/check")"; fi
}
# grade SUBMISSION-FILE...: a fresh /autograder with those files submitted.
grade() {
	rm -rf "$tmp/ag/submission" "$tmp/ag/results"
	mkdir -p "$tmp/ag/submission/sub"
	for f in "$@"; do cp "$f" "$tmp/ag/submission/sub/$(basename "$f")"; done
	AUTOGRADER_ROOT=$tmp/ag "$tmp/ag/source/run_autograder" >"$tmp/out" 2>&1
	rc=$?
}

what="make autograder AUTOGRADER_PARTS=3A"
make -s -C "$root" autograder AUTOGRADER_PARTS=3A >"$tmp/out" 2>&1 || bad "make autograder failed"
mkdir -p "$tmp/ag/source"
python3 -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    p = z.extract(i, sys.argv[2])
    os.chmod(p, (i.external_attr >> 16) & 0o777 or 0o644)' "$root/build/autograder.zip" "$tmp/ag/source"
if [ -x "$tmp/ag/source/run_autograder" ] && [ -x "$tmp/ag/source/setup.sh" ] &&
	[ -f "$tmp/ag/source/handout/Makefile" ] && [ ! -e "$tmp/ag/source/handout/raft/skeleton" ] &&
	grep -q '^PARTS="3A"$' "$tmp/ag/source/autograder.conf"; then ok; else
	bad "the zip should hold an executable run_autograder and setup.sh, the handout and autograder.conf"; fi

what="run_autograder on the reference raft.c"
grade "$root/raft/raft.c"
expect_json 'r["score"] == r["max_score"] == len(r["tests"]) >= 4' "the reference should score every 3A test: $(cat "$tmp/ag/results/results.json" 2>/dev/null | head -c 600)"
expect_json 'all(t["name"].startswith("3A ") and t["status"] == "passed" for t in r["tests"])' "every test should be a passed 3A test"
check_schema

what="run_autograder on a raft.c that does not compile"
printf 'this is not C\n' >"$tmp/raft.c"
grade "$tmp/raft.c"
expect_json 'r["score"] == 0 and r["output"].startswith("The build failed") and "raft.c" in r["output"]' "a build error should score 0 and show the compiler's messages"
check_schema

what="run_autograder on two raft.c"
mkdir -p "$tmp/two/a" "$tmp/two/b"
cp "$root/raft/raft.c" "$tmp/two/a/"; cp "$root/raft/raft.c" "$tmp/two/b/"
rm -rf "$tmp/ag/submission" "$tmp/ag/results"
mkdir -p "$tmp/ag/submission"
cp -r "$tmp/two/a" "$tmp/two/b" "$tmp/ag/submission/"
AUTOGRADER_ROOT=$tmp/ag "$tmp/ag/source/run_autograder" >"$tmp/out" 2>&1
expect_json 'r["score"] == 0 and "more than one raft.c" in r["output"]' "two raft.c should be refused"
check_schema

echo "autograder_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
