#!/bin/sh
# logview_test.sh: checks tools/logview against golden output: renders
# tools/testdata/logview/sample.log (a captured rlog log, with test output lines mixed
# in) with several options and compares with tools/testdata/logview/expected*.txt.
# After a deliberate change of the layout, regenerate the goldens with the
# commands below and read the diff before committing them.
set -u

here=$(cd "$(dirname "$0")" && pwd)
logview=$here/logview
dir=$here/testdata/logview
tmp=$(mktemp -d "${TMPDIR:-/tmp}/logview_test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# golden EXPECTED ARGS...: logview ARGS sample.log must print EXPECTED.
golden() {
	want=$1
	shift
	if "$logview" "$@" "$dir/sample.log" >"$tmp/out" 2>"$tmp/err" &&
		cmp -s "$tmp/out" "$dir/$want" && [ ! -s "$tmp/err" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: tools/logview $* sample.log differs from $want:"
		diff "$dir/$want" "$tmp/out" | head -n 20
		cat "$tmp/err"
	fi
}
# check DESCRIPTION COMMAND...: the command succeeds.
check() {
	what=$1
	shift
	if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); else
		failed=$((failed + 1)); echo "FAIL: $what"; fi
}

golden expected.txt
golden expected-only.txt --only VOTE,leader -w 24
golden expected-window.txt --ignore APPEND,TIMER --from 1000 --to 2051
golden expected-color.txt --color -w 20

# stdin works, and a pipe (not a terminal) gets no colours.
"$logview" <"$dir/sample.log" >"$tmp/out"
check "logview reading stdin prints expected.txt" cmp -s "$tmp/out" "$dir/expected.txt"
check "no escape codes when not on a terminal" sh -c "! grep -q \"\$(printf '\\033')\" '$tmp/out'"
# Every line that is not an rlog line comes out unchanged.
grep -v -E '^[0-9]+ [A-Z]+ S([0-9]+|-) T([0-9]+|-)( |$)' "$dir/sample.log" >"$tmp/raw"
check "lines that are not rlog lines pass through" sh -c "grep -vxF -f '$tmp/raw' '$tmp/out' >/dev/null && ! grep -vxF -f '$tmp/out' '$tmp/raw'"
# Any number of peers: a line of S11 makes 12 columns.
printf '000001 VOTE S11 T3 hello\n' | "$logview" -w 8 >"$tmp/out"
check "peer 11 gets the 12th column" grep -qE '^000001 VOTE {4}( {9}){11}T3 hello$' "$tmp/out"
# On a terminal, without -w, the columns fit its width: 7 peers in 80.
if command -v script >/dev/null 2>&1; then
	printf '000001 VOTE S6 T3 hello\n' >"$tmp/seven.log"
	COLUMNS=80 script -qec "'$logview' --no-color '$tmp/seven.log'" /dev/null >"$tmp/out" 2>&1
	check "7 peers fit 80 columns on a terminal" sh -c "tr -d '\\r' <'$tmp/out' | awk 'length > 80 { bad = 1 } END { exit bad }' && grep -q 'S6' '$tmp/out'"
else
	check "script(1), to give logview a terminal, is installed" false
fi
# Usage errors.
check "an unknown --only topic is refused" sh -c "'$logview' --only BOGUS '$dir/sample.log' 2>&1 | grep -q \"unknown topic 'BOGUS'\"; [ \$? -eq 0 ] && ! '$logview' --only BOGUS '$dir/sample.log' >/dev/null 2>&1"
check "an unknown --ignore topic is refused" sh -c "! '$logview' --ignore vote,NOPE '$dir/sample.log' >/dev/null 2>&1"
check "bad -w is refused" sh -c "! '$logview' -w x '$dir/sample.log'"
"$logview" "$tmp/no-such.log" >"$tmp/out" 2>"$tmp/err"
check "a missing log exits 2" [ $? -eq 2 ]
check "a missing log gets logview's own message" sh -c "[ \"\$(cat '$tmp/err')\" = 'logview: cannot read the log $tmp/no-such.log: no such file' ]"
check "a folder is refused" sh -c "'$logview' '$tmp' 2>&1 | grep -q ': a folder\$'"
check "bad --from is refused" sh -c "! '$logview' --from 1s '$dir/sample.log'"

echo "logview_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
