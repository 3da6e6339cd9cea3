#!/usr/bin/env bash
# sim_measure.sh: real mode against simulation mode, measured in one go
# (make sim-measure). Runs the chosen parts in the default build and in the
# sim build, and prints each suite's wall time in both (the kv suites in sim
# also with -parallel 2), then every test's time and counts side by side:
# for the Raft tests the committed commands, for the kv tests the clerk
# operations (the last column of each Passed line). Simulated times are
# virtual seconds; wall times are real.
#
#   scripts/sim_measure.sh [PART ...]      (default: 3A 3B 3C 3D 4A 4B)
set -u
cd "$(dirname "$0")/.." || exit 2

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(3A 3B 3C 3D 4A 4B)
raft_re="" kv_re=""
for p in "${parts[@]}"; do
	case $p in
	3[A-D]) raft_re+="${raft_re:+|}$p\$" ;;
	4[AB]) kv_re+="${kv_re:+|}$p\$" ;;
	*) echo "sim_measure.sh: unknown part '$p' (3A-3D, 4A, 4B)" >&2; exit 2 ;;
	esac
done

make -s --no-print-directory -j2 build/default/raft_test build/default/kvraft_test || exit 2
make -s --no-print-directory -j2 SIM=1 build/sim/raft_test build/sim/kvraft_test || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sim-measure.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# timed NAME COMMAND...: runs it, keeps its output in $tmp/NAME, and its wall
# seconds in $tmp/NAME.wall.
timed() {
	local name=$1 start end
	shift
	start=$(date +%s.%N)
	"$@" >"$tmp/$name" 2>&1
	local rc=$?
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' >"$tmp/$name.wall"
	[ $rc -eq 0 ] || echo "sim_measure.sh: $* failed (exit $rc); see its lines below" >&2
	grep -E '^--- FAIL' "$tmp/$name" >&2
}

summary=()
measure() { # LABEL PROGRAM REGEX
	local label=$1 prog=$2 re=$3
	echo "running $label in real mode ..." >&2
	timed "$label-real" "build/default/$prog" -run "$re"
	echo "running $label in simulation mode ..." >&2
	timed "$label-sim" "build/sim/$prog" -run "$re"
	summary+=("$(printf '%-8s real %7.1f s   sim %6.1f s' "$label" \
		"$(cat "$tmp/$label-real.wall")" "$(cat "$tmp/$label-sim.wall")")")
	if [ "$prog" = kvraft_test ]; then
		timed "$label-sim2" "build/sim/$prog" -run "$re" -parallel 2
		summary[-1]+="$(printf '   sim -parallel 2 %6.1f s' "$(cat "$tmp/$label-sim2.wall")")"
	fi
}
[ -z "$raft_re" ] || measure raft raft_test "$raft_re"
[ -z "$kv_re" ] || measure kv kvraft_test "$kv_re"

echo
echo "wall time of each suite, one test at a time unless said:"
printf '  %s\n' "${summary[@]}"

# Each test's title and Passed line, real beside sim.
table() { # LABEL
	awk -v real="$tmp/$1-real" -v sim="$tmp/$1-sim" '
	function load(file, secs, count, order,   line, title, n, f) {
		n = 0
		while ((getline line < file) > 0) {
			if (line ~ /^Test/) { title = line; sub(/ \.\.\.$/, "", title) }
			else if (line ~ /^  \.\.\. Passed --/ && title != "") {
				split(line, f, " ")
				secs[title] = f[4]; count[title] = f[length(f)]
				order[++n] = title; title = ""
			}
		}
		return n
	}
	BEGIN {
		n = load(real, rs, rc, order); load(sim, ss, sc, unused)
		printf "\n%-72s %8s %8s %8s %8s\n", "test", "real s", "sim s", "real n", "sim n"
		for (i = 1; i <= n; i++) {
			t = order[i]
			printf "%-72s %8s %8s %8s %8s\n", substr(t, 1, 72), rs[t], \
			       (t in ss) ? ss[t] : "-", rc[t], (t in sc) ? sc[t] : "-"
		}
	}'
}
[ -z "$raft_re" ] || { echo; echo "Raft tests (n: committed commands):"; table raft; }
[ -z "$kv_re" ] || { echo; echo "kv tests (n: clerk operations):"; table kv; }
