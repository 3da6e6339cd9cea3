#!/bin/sh
# figure16_test.sh: a quick run of the Figure 16 benchmark (tests/bench/figure16.c)
# and of its plot (scripts/figure16.py): two trials of two lines print the
# table and write a CSV file of every sample, the plot draws a well-formed
# SVG of it, and bad options are refused with exit status 2. A few seconds
# in real mode.
#
#   usage: tests/bench/figure16_test.sh BUILD/figure16
set -u
prog=${1:?usage: $0 BUILD/figure16}
here=$(cd "$(dirname "$0")" && pwd)
plot=$here/../../scripts/figure16.py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/figure16_test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $1"
	sed 's/^/  | /' "$tmp/out" "$tmp/err" 2>/dev/null | tail -n 12
}

# ---- a small run: its table and its samples ----
if "$prog" --trials 2 --lines 25-50,50-100 --seed 7 --csv "$tmp/s.csv" >"$tmp/out" 2>"$tmp/err"; then ok; else
	bad "figure16 --trials 2 --lines 25-50,50-100 should succeed"; fi
if grep -qE '^timeouts +trials +median +mean +p99 +max +no leader$' "$tmp/out" &&
	grep -qE '^25-50 +2( +[0-9]+\.[0-9]){4} +0$' "$tmp/out" &&
	grep -qE '^50-100 +2( +[0-9]+\.[0-9]){4} +0$' "$tmp/out"; then ok; else
	bad "the table should have its header and a row of 2 trials for each line"; fi
if [ "$(head -n 1 "$tmp/s.csv")" = "line,min_ms,max_ms,request_ms,reply_ms,trial,seed,downtime_ms,censored" ] &&
	[ "$(wc -l <"$tmp/s.csv")" -eq 5 ] &&
	[ "$(awk -F, 'NR > 1 && NF == 9 && $8 > 0 && $9 == 0' "$tmp/s.csv" | wc -l)" -eq 4 ]; then ok; else
	bad "the CSV file should have its header and 4 samples of 9 fields"; cat "$tmp/s.csv"; fi

# ---- the plot ----
if python3 "$plot" "$tmp/s.csv" "$tmp/f.svg" >"$tmp/out" 2>"$tmp/err"; then ok; else
	bad "figure16.py should draw the samples"; fi
if python3 - "$tmp/f.svg" >"$tmp/out" 2>"$tmp/err" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
lines = root.findall(ns + "polyline")
assert len(lines) == 2, f"{len(lines)} lines, not 2"
texts = "".join(t.text or "" for t in root.iter(ns + "text"))
assert "25-50 ms" in texts and "50-100 ms" in texts, "no legend"
EOF
then ok; else bad "the SVG should parse, with one line and a legend entry for each of the 2 lines"; fi

# ---- refused: exit status 2 and a message ----
refused() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ -s "$tmp/err" ]; then ok; else
		bad "'$*' should be refused with exit status 2 (got $rc)"; fi
}
refused "$prog" --bogus
refused "$prog" --trials 0
refused "$prog" --trials
refused "$prog" --lines 150-150,1-2
refused "$prog" --latency-us 7500,x
refused "$prog" --seed 0xg
refused python3 "$plot" "$tmp/s.csv"
if "$prog" --help >"$tmp/out" 2>"$tmp/err" && grep -q '^usage: figure16' "$tmp/out"; then ok; else
	bad "figure16 --help should print the usage and succeed"; fi

echo "figure16_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
