#!/usr/bin/env bash
# grade.sh: grades the labs as the course's grading script does: runs each
# part's suite (3A-3D, 4A-4B, and the optional 3E) GRADE_RUNS times, fails any test over the
# per-test limit (120 s) and a lab whose suites take over the lab limit
# (600 s, enforced while a part runs: what is still running when the lab's
# time is up fails), and writes build/grade/report.json, junit.xml and
# Gradescope's results.json (the points from scripts/grade-points.conf),
# with CUnit's own XML results of each part's run (cunit-PART-RUN-Results.xml).
# Run through `make grade`; it does not build anything itself.
#
#   scripts/grade.sh --build DIR [--runs N] [--test-limit S] [--lab-limit S]
#                    [--parts "3A 3B ..."] [--out DIR] [--points FILE]
set -u

build=""
runs=1
test_limit=120
lab_limit=600
parts="3A 3B 3C 3D 4A 4B"
out=build/grade
points=$(dirname "$0")/grade-points.conf
die() { printf 'grade: %s\n' "$*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "option $1 needs a value"
	case $1 in
	--build) build=$2 ;;
	--runs) runs=$2 ;;
	--test-limit) test_limit=$2 ;;
	--lab-limit) lab_limit=$2 ;;
	--parts) parts=$2 ;;
	--out) out=$2 ;;
	--points) points=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done
[ -n "$build" ] || die "--build DIR is needed"
for n in "$runs" "$test_limit" "$lab_limit"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "runs and limits must be positive numbers, not '$n'"
done
[ -r "$points" ] || die "cannot read the points file $points"
n=0
while IFS= read -r line || [ -n "$line" ]; do
	n=$((n + 1))
	[[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
	[[ $line =~ ^[[:space:]]*[A-Za-z0-9_]+[[:space:]]+[0-9]+(\.[0-9]+)?[[:space:]]*$ ]] ||
		die "$points:$n: want 'PART-OR-TEST POINTS', not '$line'"
done <"$points"
rm -rf "$out"
mkdir -p "$out/logs" || die "cannot create $out"
logs=$(cd "$out/logs" && pwd)

tab=$'\t'
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t / 1000)); }

# One record per test run, tab-separated, in $out/results.tsv:
#   part  lab  run  test  result(pass|fail|timeout)  seconds  rpcs  seed  message
# with the message escaped as in the programs' -results files (\\n for a
# newline, \\t for a tab, \\\\ for a backslash).
: >"$out/results.tsv"
declare -A lab_ms=() lab_over=()
grade_t0=$(now_ms)
for part in $parts; do
	lab=${part:0:1}
	case $part in 3[A-D]) prog=$build/raft_test ;; 3E) prog=$build/membership_test ;;
	4[AB]) prog=$build/kvraft_test ;;
	*) die "unknown part $part" ;; esac
	[ -x "$prog" ] || die "$prog is not built"
	for ((r = 1; r <= runs; r++)); do
		if [ "${lab_ms[$lab]:-0}" -ge $((lab_limit * 1000)) ]; then
			lab_over[$lab]=1
			# Out of time: the part's tests count as failed, not run.
			"$prog" -list -run "${part}\$" | awk -v p="$part" -v l="$lab" -v r="$r" \
				'{ printf "%s\t%s\t%s\t%s\tfail\t0\t\t\tnot run: lab %s over the %s s limit\n", p, l, r, $0, l, '"$lab_limit"' }' \
				>>"$out/results.tsv"
			continue
		fi
		echo "grade: part $part, run $r/$runs ..."
		t0=$(now_ms)
		# -budget: the lab's time left, so that the limit holds while a
		# part runs, not only between parts.
		left_ms=$((lab_limit * 1000 - ${lab_ms[$lab]:-0}))
		RAFTLAB_LOG_DIR=$logs "$prog" -v -run "${part}\$" -timeout "$test_limit" \
			-budget $(((left_ms + 999) / 1000)) -results "$out/$part-$r.results" \
			-xml "$out/cunit-$part-$r" </dev/null >"$out/$part-$r.out" 2>&1
		status=$?
		lab_ms[$lab]=$((${lab_ms[$lab]:-0} + $(now_ms) - t0))
		# The program's -results file: test, result, seconds, seed, rpcs,
		# ops, log, message (escaped: \n for a newline). A test with no
		# line there (the program itself died) fails.
		"$prog" -list -run "${part}\$" |
			awk -F '\t' -v p="$part" -v l="$lab" -v r="$r" -v limit="$test_limit" \
				-v ll="$lab_limit" -v status="$status" -v results="$out/$part-$r.results" '
			BEGIN {
				while ((getline line < results) > 0) {
					if (line ~ /^#/) continue
					split(line, f, "\t")
					res[f[1]] = f[2]; secs[f[1]] = f[3]; seed[f[1]] = f[4]
					rpcs[f[1]] = f[5]; msg[f[1]] = f[8]
				}
			}
			{
				name = $0
				if (!(name in res)) {
					printf "%s\t%s\t%s\t%s\tfail\t0\t\t\tno result: the test program ended with status %s\n", p, l, r, name, status
					next
				}
				x = res[name]; m = msg[name]
				if (x == "budget" || x == "not-run") {
					m = (x == "not-run" ? "not run" : "killed") ": lab " l " over the " ll " s limit"
					x = "fail"
				} else if (x == "pass" && secs[name] + 0 > limit + 0) {
					x = "timeout"; m = "took over " limit " s"
				} else if (x != "pass" && x != "timeout") {
					x = "fail"
				}
				printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p, l, r, name, x, secs[name], rpcs[name], seed[name], m
			}' >>"$out/results.tsv"
		! grep -qE "^[^$tab]*$tab(budget|not-run)$tab" "$out/$part-$r.results" 2>/dev/null ||
			lab_over[$lab]=1
	done
done
for lab in "${!lab_ms[@]}"; do
	[ "${lab_ms[$lab]}" -le $((lab_limit * 1000)) ] || lab_over[$lab]=1
done

# ---- report.json, junit.xml and the summary line ----
over=""
for lab in "${!lab_over[@]}"; do over="$over$lab "; done
labtimes=""
for lab in "${!lab_ms[@]}"; do labtimes="$labtimes$lab=${lab_ms[$lab]} "; done
awk -F '\t' -v parts="$parts" -v runs="$runs" -v tl="$test_limit" -v ll="$lab_limit" \
	-v over="$over" -v labtimes="$labtimes" -v json="$out/report.json" -v xml="$out/junit.xml" \
	-v gs="$out/results.json" -v points="$points" -v took="$(($(now_ms) - grade_t0))" '
# The points of test t: from its own line, else from its part, else 1.
function points_of(t) {
	if (tname[t] in pts) return pts[tname[t]]
	if (tpart[t] in pts) return pts[tpart[t]]
	return 1
}
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
# The message, escaped already (\\n, \\t, \\r, \\\\): valid in a JSON string
# once its quotes are escaped and any other control character dropped.
function jmsg(s) { gsub(/"/, "\\\"", s); gsub(/[\001-\037]/, "", s); return "\"" s "\"" }
# The message as it was, for XML.
function unesc(s,    out, i, c) {
	out = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\" && i < length(s)) {
			i++
			c = substr(s, i, 1)
			if (c == "n") c = "\n"
			else if (c == "t") c = "\t"
			else if (c == "r") c = "\r"
		}
		out = out c
	}
	return out
}
function xattr(s) { s = xstr(s); gsub(/\n/, "\\&#10;", s); gsub(/\t/, "\\&#9;", s); gsub(/\r/, "", s); return s }
function xstr(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); gsub(/"/, "\\&quot;", s); return s }
{
	n++; part[n] = $1; lab[n] = $2; run[n] = $3; name[n] = $4; res[n] = $5
	secs[n] = $6; rpcs[n] = $7; seed[n] = $8; msg[n] = $9
	key = $1 SUBSEP $4
	if (!(key in worst)) { order[++nt] = key; worst[key] = "pass"; tpart[nt] = $1; tname[nt] = $4; tlab[nt] = $2 }
	if ($5 != "pass") { if (worst[key] == "pass") first_msg[key] = $9; worst[key] = $5 }
	ptime[$1] += $6
}
END {
	split(over, ov, " "); for (i in ov) isover[ov[i]] = 1
	split(labtimes, lt, " "); for (i in lt) { split(lt[i], kv, "="); labsec[kv[1]] = kv[2] / 1000 }
	np = split(parts, P, " ")
	for (t = 1; t <= nt; t++) {
		total[tpart[t]]++
		if (worst[order[t]] == "pass" && !(tlab[t] in isover)) okc[tpart[t]]++
	}
	line = "grade:"; all = 0; allok = 0
	for (i = 1; i <= np; i++) {
		line = line sprintf(" %s %d/%d", P[i], okc[P[i]], total[P[i]])
		all += total[P[i]]; allok += okc[P[i]]
	}
	line = line sprintf(" total %d/%d", allok, all)
	for (l in isover) line = line sprintf(" (lab %s took over %d s: failed)", l, ll)
	print line

	printf "{\n  \"runs\": %d,\n  \"test_limit_s\": %d,\n  \"lab_limit_s\": %d,\n", runs, tl, ll > json
	printf "  \"labs\": [" > json
	sep = ""
	for (l in labsec) { printf "%s\n    {\"lab\": %s, \"seconds\": %.1f, \"over_limit\": %s}", sep, l, labsec[l], (l in isover) ? "true" : "false" > json; sep = "," }
	printf "\n  ],\n  \"parts\": {" > json
	for (i = 1; i <= np; i++)
		printf "%s\n    %s: {\"passed\": %d, \"tests\": %d}", (i > 1 ? "," : ""), jstr(P[i]), okc[P[i]], total[P[i]] > json
	printf "\n  },\n  \"passed\": %d,\n  \"tests\": %d,\n  \"runs_detail\": [", allok, all > json
	for (i = 1; i <= n; i++)
		printf "%s\n    {\"part\": %s, \"test\": %s, \"run\": %d, \"result\": %s, \"seconds\": %s, \"rpcs\": %s, \"seed\": %s, \"message\": %s}",
			(i > 1 ? "," : ""), jstr(part[i]), jstr(name[i]), run[i], jstr(res[i]), secs[i] + 0,
			(rpcs[i] == "" ? "null" : rpcs[i] + 0), jstr(seed[i]), jmsg(msg[i]) > json
	printf "\n  ],\n  \"summary\": %s\n}\n", jstr(line) > json

	print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" > xml
	printf "<testsuites name=\"raftlab\" tests=\"%d\">\n", n > xml
	for (p = 1; p <= np; p++) {
		nf = 0; ne = 0; cnt = 0
		for (i = 1; i <= n; i++) if (part[i] == P[p]) { cnt++; if (res[i] == "fail") nf++; if (res[i] == "timeout") ne++ }
		printf "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\" time=\"%.2f\">\n", P[p], cnt, nf, ne, ptime[P[p]] > xml
		for (i = 1; i <= n; i++) {
			if (part[i] != P[p]) continue
			printf "    <testcase classname=\"lab%s.%s\" name=\"%s\" time=\"%s\">", lab[i], part[i], xstr(name[i] (runs > 1 ? "#" run[i] : "")), secs[i] + 0 > xml
			m = unesc(msg[i])
			if (res[i] == "fail") printf "<failure message=\"%s\">%s\nseed %s</failure>", xattr(m), xstr(m), seed[i] > xml
			if (res[i] == "timeout") printf "<error type=\"timeout\" message=\"%s\">%s\nseed %s</error>", xattr(m == "" ? "timed out" : m), xstr(m), seed[i] > xml
			printf "</testcase>\n" > xml
		}
		printf "  </testsuite>\n" > xml
	}
	print "</testsuites>" > xml

	# Gradescope autograder results: a test scores its points if every run of
	# it passed (and its lab kept to its limit), else none.
	while ((getline pl < points) > 0) {
		if (pl ~ /^[ \t]*(#|$)/) continue
		split(pl, w, " ")
		pts[w[1]] = w[2] + 0
	}
	total_score = 0; total_max = 0
	printf "{\n  \"output\": %s,\n  \"execution_time\": %d,\n  \"visibility\": \"visible\",\n  \"stdout_visibility\": \"visible\",\n  \"tests\": [", jstr(line), took / 1000 > gs
	for (t = 1; t <= nt; t++) {
		max = points_of(t)
		total_max += max
		passed = worst[order[t]] == "pass" && !(tlab[t] in isover)
		score = passed ? max : 0
		total_score += score
		out_msg = worst[order[t]] != "pass" ? first_msg[order[t]] : passed ? "" : "lab " tlab[t] " took over its " ll " s limit"
		printf "%s\n    {\"name\": %s, \"score\": %s, \"max_score\": %s, \"status\": \"%s\", \"output\": %s, \"visibility\": \"visible\"}",
			(t > 1 ? "," : ""), jstr(tpart[t] " " tname[t]), score, max, passed ? "passed" : "failed", jmsg(out_msg) > gs
	}
	printf "\n  ],\n  \"score\": %s,\n  \"max_score\": %s\n}\n", total_score, total_max > gs
	exit allok == all ? 0 : 1
}' "$out/results.tsv" | tee "$out/summary.txt"
status=${PIPESTATUS[0]}
echo "grade: report in $out/report.json, $out/junit.xml, Gradescope's $out/results.json; CUnit's XML, outputs and failed logs in $out/"
exit "$status"
