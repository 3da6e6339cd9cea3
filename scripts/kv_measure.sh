#!/bin/sh
# kv_measure.sh: measures the key/value service's graded suites, part by part:
# wall time, CPU time (user + system) and peak memory from /usr/bin/time -v,
# the ms/op of the speed tests, and how many linearizability checks ran out
# of time. Numbers only: nothing here passes or fails a test.
#
#   scripts/kv_measure.sh build/default/kvraft_test [extra runner options]
set -u
prog=${1:?usage: kv_measure.sh PROGRAM [runner options]}
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for part in 4A 4B; do
	/usr/bin/time -v "$prog" -run "$part" "$@" >"$out/$part.log" \
		2>"$out/$part.time" || status=1
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/$part.time")
	user=$(sed -n 's/.*User time (seconds): //p' "$out/$part.time")
	sys=$(sed -n 's/.*System time (seconds): //p' "$out/$part.time")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/$part.time")
	passed=$(grep -c '^--- PASS\|^  \.\.\. Passed' "$out/$part.log")
	failed=$(grep -c '^--- FAIL' "$out/$part.log")
	unknown=$(grep -c '^lincheck: UNKNOWN' "$out/$part.log")
	cpu=$(echo "$user $sys" | awk '{ printf "%.1f", $1 + $2 }')
	echo "$part: wall $wall, cpu ${cpu}s (user ${user}s, sys ${sys}s)," \
		"peak rss ${rss} kB, Passed lines $passed, failed tests $failed," \
		"undecided linearizability checks $unknown"
	grep -B1 '^info: .* ms/op' "$out/$part.log" | grep -v '^--$' |
		sed 's/^/    /'
	grep -A2 '^--- FAIL' "$out/$part.log" | sed 's/^/    /'
done
exit $status
