#!/usr/bin/env bash
# grade_test.sh: tests scripts/grade.sh against the runner's self-test
# program, which a fake build folder dresses as raft_test and kvraft_test:
# part 3A is TestPass and TestLongMessage, 3B TestPass and TestHang, 4A
# TestPass. Checks the summary line, the lab limit enforced while a part
# runs, whole multi-line messages in report.json and junit.xml, and
# Gradescope's results.json with the points of a --points file.
#
#   usage: scripts/grade_test.sh PATH/TO/runner_selftest
set -u
prog=${1:?usage: $0 PATH/TO/runner_selftest}
prog=$(cd "$(dirname "$prog")" && pwd)/$(basename "$prog")
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/grade_test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n  after: %s\n' "$1" "$what"
	sed 's/^/  out| /' "$tmp/out" | tail -n 20
}
expect_rc() { if [ "$rc" -eq "$1" ]; then ok; else bad "exit status $rc, want $1"; fi; }
expect_out() { if grep -qE -e "$1" "$tmp/out"; then ok; else bad "output has no line matching: $1"; fi; }
expect_file() { # FILE FIXED-TEXT
	if grep -qF -e "$2" "$1"; then ok; else bad "$(basename "$1") lacks: $2"; fi
}

# The fake build: -run's part becomes the self-test's tests of that part.
mkdir -p "$tmp/build"
for name in raft_test kvraft_test; do
	cat >"$tmp/build/$name" <<WRAP
#!/usr/bin/env bash
args=()
for a in "\$@"; do
	case \$a in
	'3A\$') a='^TestPass\$|^TestLongMessage\$' ;;
	'3B\$') a='^TestPass\$|^TestHang\$' ;;
	'4A\$') a='^TestPass\$' ;;
	esac
	args+=("\$a")
done
exec "$prog" "\${args[@]}"
WRAP
	chmod +x "$tmp/build/$name"
done

printf '# the test'"'"'s points\n3A 2\n4A 3\nTestHang 4\n' >"$tmp/points-good"

# ---- a lab over its limit while a part runs: the part is cut short ----
what="grade.sh --parts '3A 3B 4A' --lab-limit 2"
start=$(date +%s)
"$root/scripts/grade.sh" --build "$tmp/build" --parts "3A 3B 4A" --lab-limit 2 \
	--test-limit 30 --out "$tmp/grade" --points "$tmp/points-good" \
	>"$tmp/out" 2>&1
rc=$?
took=$(($(date +%s) - start))
expect_rc 1
# A lab over its limit fails all of its tests.
expect_out '^grade: 3A 0/2 3B 0/2 4A 1/1 total 1/5 \(lab 3 took over 2 s: failed\)$'
# TestHang would run 30 s: the lab's limit killed it at about 2 s.
if [ "$took" -le 8 ]; then ok; else bad "the lab limit should stop the run at about 2 s, not $took s"; fi
json=$tmp/grade/report.json
expect_file "$json" '"test": "TestHang", "run": 1, "result": "fail"'
expect_file "$json" '"message": "killed: lab 3 over the 2 s limit"'
# The whole multi-line message, as JSON escapes.
expect_file "$json" 'get wrong value, key 0, wanted:\nx\ty\\z\nbut got:\n"'
xml=$tmp/grade/junit.xml
expect_file "$xml" 'message="selftest.c:'
expect_file "$xml" ': get wrong value, key 0, wanted:&#10;x&#9;y\z&#10;but got:&#10;"'
gs=$tmp/grade/results.json
expect_file "$gs" '"name": "3A TestLongMessage", "score": 0, "max_score": 2, "status": "failed"'
expect_file "$gs" '"name": "4A TestPass", "score": 3, "max_score": 3, "status": "passed"'
expect_file "$gs" '"name": "3B TestPass", "score": 0, "max_score": 1, "status": "failed"'
expect_file "$gs" '"name": "3B TestHang", "score": 0, "max_score": 4, "status": "failed"'
expect_file "$gs" '"name": "3A TestPass", "score": 0, "max_score": 2, "status": "failed", "output": "lab 3 took over its 2 s limit"'
expect_file "$gs" '"score": 3,'
expect_file "$gs" '"max_score": 12'
if command -v python3 >/dev/null 2>&1; then
	if python3 "$root/scripts/check_results_json.py" "$gs" >"$tmp/check" 2>&1 &&
		python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$json" &&
		python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$xml"; then
		ok
	else
		bad "results.json, report.json and junit.xml should be valid: $(cat "$tmp/check")"
	fi
	# The check fails on a results file Gradescope would refuse.
	sed 's/"status": "failed"/"status": "broken"/' "$gs" >"$tmp/bad.json"
	if ! python3 "$root/scripts/check_results_json.py" "$tmp/bad.json" 2>"$tmp/check" &&
		grep -q "'broken' is not one of \['passed', 'failed'\]" "$tmp/check"; then ok; else
		bad "check_results_json.py should refuse a bad status: $(cat "$tmp/check")"; fi
else
	bad "python3 is needed to check results.json against its schema (scripts/deps.sh --check installs it)"
fi

# ---- every part within its limits ----
what="grade.sh --parts 4A"
"$root/scripts/grade.sh" --build "$tmp/build" --parts 4A --out "$tmp/grade" \
	--points "$tmp/points-good" >"$tmp/out" 2>&1
rc=$?
expect_rc 0
expect_out '^grade: 4A 1/1 total 1/1$'
expect_file "$tmp/grade/results.json" '"score": 3,'

# ---- bad points files are refused before anything runs ----
what="grade.sh --points (a bad line)"
printf '3A five\n' >"$tmp/points"
"$root/scripts/grade.sh" --build "$tmp/build" --parts 4A --out "$tmp/grade" \
	--points "$tmp/points" >"$tmp/out" 2>&1
rc=$?
expect_rc 2
expect_out "grade: $tmp/points:1: want 'PART-OR-TEST POINTS', not '3A five'"

echo "grade_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
