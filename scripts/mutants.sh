#!/usr/bin/env bash
# mutants.sh: the mutation harness (make mutants). It measures what the
# graded suites catch: each mutant in mutants/ is one classic student bug, a
# small patch to the reference Raft or kv service. For each, alone, on a
# scratch copy of the tree: apply the patch (a patch that no longer applies
# without fuzz, or lands in another function than its @@ lines name, stops
# everything), rebuild, then run the parts the mutant names, first as
# a sweep of fresh seeds in simulation mode, then, if that caught nothing,
# once in real mode. A mutant is caught when any graded test fails.
#
#   scripts/mutants.sh [options] [NAME ...]      (-h for the options)
set -u

usage() {
	cat <<'EOF'
usage: scripts/mutants.sh [options] [NAME ...]

Runs every mutant in mutants/raft and mutants/kv (or those whose file name
contains a NAME) against the graded suites and prints a table: the bug,
whether it was caught, by which test, its first message, and how long it
took. Writes build/mutants/report.json.

Options:
  -j, --jobs N        mutants at once (default 2)
      --sim-budget S  seconds of sim sweep per part named by the mutant
                      (default 60): whole passes of the part, each with
                      fresh seeds, until one fails or the time is up
      --no-real       skip the real-mode run of what the sweep missed
      --real-always   do the real-mode run even after the sweep caught it
      --sched S       the sweep's schedule (random, pct, pct:D)
  -n, --dry-run       only check that each patch applies without fuzz, each
                      hunk in the function its @@ line names; build and
                      run nothing
  -l, --list          list the mutants and exit
  -h, --help          print this help

Exit status: 0 when the run completed (whatever was caught), 2 when a
patch no longer applies or lands in another function, a build fails, or
the options are wrong.
EOF
}

die() {
	printf 'mutants.sh: %s\n' "$*" >&2
	exit 2
}

jobs=2
sim_budget=60
real=auto
sched=random
list=false
dry_run=false
names=()
while [ $# -gt 0 ]; do
	case $1 in
	-j | --jobs) [ $# -ge 2 ] || die "$1 needs a value"; jobs=$2; shift ;;
	--sim-budget) [ $# -ge 2 ] || die "$1 needs a value"; sim_budget=$2; shift ;;
	--no-real) real=never ;;
	--real-always) real=always ;;
	--sched) [ $# -ge 2 ] || die "$1 needs a value"; sched=$2; shift ;;
	-l | --list) list=true ;;
	-n | --dry-run) dry_run=true ;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; die "unknown option $1" ;;
	*) names+=("$1") ;;
	esac
	shift
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive number, not '$jobs'"
[[ $sim_budget =~ ^[1-9][0-9]*$ ]] || die "--sim-budget needs a positive number of seconds, not '$sim_budget'"
[[ $sched =~ ^(random|pct|pct:[1-9][0-9]?)$ ]] || die "--sched needs random, pct or pct:D, not '$sched'"

root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$root" || exit 2
out=build/mutants

# ---- the mutants ----
header() { # FILE FIELD: the value of "# FIELD: ..." in a patch's header
	sed -n "s/^# $2: //p" "$1" | head -n 1
}
. scripts/mutant_names.sh
select_mutants ${names[@]+"${names[@]}"}
if $list; then
	for f in "${patches[@]}"; do
		printf '%-44s %-12s %s\n' "$(basename "$f" .patch)" "$(header "$f" parts)" "$(header "$f" bug)"
	done
	exit 0
fi
for f in "${patches[@]}"; do
	[ -n "$(header "$f" parts)" ] || die "$f has no '# parts:' line"
	[ -n "$(header "$f" bug)" ] || die "$f has no '# bug:' line"
done

# Every patch must apply to the tree as it is, without fuzz, each hunk in
# the function its @@ line names (check_hunk_places), before anything runs.
command -v patch >/dev/null 2>&1 || die "patch is not installed (sudo apt-get install patch)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mutants.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
bad=0
for f in "${patches[@]}"; do
	name=$(basename "$f" .patch)
	rm -rf "$tmp/a" "$tmp/b"
	mkdir -p "$tmp/a" "$tmp/b"
	files=$(mutant_files "$f")
	for x in $files; do
		[ -f "$x" ] || die "mutant $name patches $x, which is not in the tree ($f)"
		mkdir -p "$tmp/a/$(dirname "$x")" "$tmp/b/$(dirname "$x")"
		cp "$x" "$tmp/a/$x"
		cp "$x" "$tmp/b/$x"
	done
	if ! msg=$(cd "$tmp/b" && patch -p1 --batch --silent -F0 <"$root/$f" 2>&1); then
		printf 'mutants.sh: mutant %s no longer applies to the reference without fuzz: scripts/rebase_mutants.sh rewrites it at its new place, or says it must be redone by hand (%s)\n%s\n' \
			"$name" "$f" "$msg" >&2
		bad=$((bad + 1))
		continue
	fi
	for x in $files; do
		diff -u -p --label "a/$x" --label "b/$x" "$tmp/a/$x" "$tmp/b/$x"
	done >"$tmp/new"
	check_hunk_places "$f" "$tmp/new"
	case $? in
	0) ;;
	2)
		printf 'mutants.sh: mutant %s: its @@ lines name no function, so where it lands cannot be checked: take it again with diff -u -p (mutants/README.md, Adding one), or let scripts/rebase_mutants.sh %s do it and check the functions it names (%s)\n' \
			"$name" "$name" "$f" >&2
		bad=$((bad + 1))
		;;
	*)
		printf 'mutants.sh: mutant %s applies, but not where it was made (above): redo it by hand where its bug belongs, against the reference as it is (mutants/README.md, Adding one) (%s)\n' \
			"$name" "$f" >&2
		bad=$((bad + 1))
		;;
	esac
done
[ "$bad" -eq 0 ] || die "$bad of ${#patches[@]} mutant(s) cannot be run as they are (above); nothing was run"
if $dry_run; then
	echo "mutants.sh: all ${#patches[@]} mutant(s) apply without fuzz, each hunk in the function its @@ line names"
	exit 0
fi

# ---- the reference builds every scratch copy starts from ----
echo "building the reference (default and sim builds) ..."
make -s --no-print-directory -j2 build/default/raft_test build/default/kvraft_test build/default/membership_test >/dev/null ||
	die "the reference does not build"
make -s --no-print-directory -j2 SIM=1 build/sim/raft_test build/sim/kvraft_test build/sim/membership_test >/dev/null ||
	die "the reference does not build in the sim build"
rm -rf "$out"
mkdir -p "$out" || die "cannot create $out"
git ls-files --cached --others --exclude-standard | grep -v -E '^(build|handout|test-logs|mutants)/' \
	>"$out/files" || die "git ls-files failed: run from the repository"

# ---- one mutant: prints its result as one tab-separated line ----
json_str() { # a JSON string
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/ }
	s=${s//$'\n'/ }
	printf '"%s"' "$s"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# first_failure OUTPUT: "TEST<TAB>first message" of the first failed test
first_failure() {
	awk '
	/^--- FAIL: / { name = $3; getline msg; sub(/^ +/, "", msg); print name "\t" msg; exit }
	' "$1"
}

run_mutant() { # PATCH
	local f=$1 name dir parts re prog start t0 res test msg mode unknown=0
	name=$(basename "$f" .patch)
	dir=$out/$name
	parts=$(header "$f" parts)
	re=""
	prog=raft_test
	for p in $parts; do
		re+="${re:+|}$p\$"
		case $p in 4*) prog=kvraft_test ;; 3E) prog=membership_test ;; esac
	done
	start=$(now)
	mkdir -p "$dir/src"
	tar -cf - -T "$out/files" build/default build/sim 2>/dev/null | tar -xpf - -C "$dir/src" ||
		{ printf '%s\tERROR\t-\tcannot copy the tree\t0\t0\n' "$name"; return; }
	(cd "$dir/src" && patch -p1 --batch --silent -F0 <"$root/$f") >"$dir/patch.log" 2>&1 ||
		{ printf '%s\tERROR\t-\tthe patch does not apply\t0\t0\n' "$name"; return; }
	if ! (cd "$dir/src" && make -s --no-print-directory SIM=1 "build/sim/$prog" &&
		make -s --no-print-directory "build/default/$prog") >"$dir/build.log" 2>&1; then
		printf '%s\tERROR\t-\tdoes not build (see %s)\t0\t0\n' "$name" "$dir/build.log"
		return
	fi
	res=missed test=- msg=- mode=-
	# The sim sweep: whole passes of the parts, fresh seeds each, per part budget.
	local budget=$((sim_budget * $(wc -w <<<"$parts"))) passes=0
	t0=$(now)
	while awk -v t="$(since "$t0")" -v b="$budget" 'BEGIN { exit !(t < b) }'; do
		passes=$((passes + 1))
		timeout -k 5 $((budget + 150)) "$dir/src/build/sim/$prog" -run "$re" -sched "$sched" \
			>"$dir/sim.out" 2>&1
		unknown=$((unknown + $(grep -c '^lincheck: UNKNOWN' "$dir/sim.out")))
		if grep -q '^--- FAIL: ' "$dir/sim.out"; then
			IFS=$'\t' read -r test msg < <(first_failure "$dir/sim.out")
			res=caught mode="sim (pass $passes)"
			break
		fi
	done
	if [ "$real" = always ] || { [ "$real" = auto ] && [ "$res" = missed ]; }; then
		RAFTLAB_LOG_DIR=$dir timeout -k 5 1200 "$dir/src/build/default/$prog" -run "$re" \
			>"$dir/real.out" 2>&1
		unknown=$((unknown + $(grep -c '^lincheck: UNKNOWN' "$dir/real.out")))
		if [ "$res" = missed ] && grep -q '^--- FAIL: ' "$dir/real.out"; then
			IFS=$'\t' read -r test msg < <(first_failure "$dir/real.out")
			res=caught mode=real
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$res" "$test" "$msg" "$(since "$start")" \
		"$unknown" "$mode"
	rm -rf "$dir/src" # keeps the outputs and logs
}
export -f run_mutant header now since first_failure
export out root sim_budget real sched

echo "running ${#patches[@]} mutant(s), $jobs at a time (sim sweep ${sim_budget}s per part, schedule $sched) ..."
t_all=$(now)
printf '%s\n' "${patches[@]}" |
	xargs -P "$jobs" -I{} bash -c 'run_mutant "$1" | tee "$out/$(basename "$1" .patch).result"' _ {} >/dev/null

# ---- the table and the report ----
w=6
for f in "${patches[@]}"; do n=$(basename "$f" .patch); [ ${#n} -le $w ] || w=${#n}; done
printf '\n%-*s %-7s %-12s %7s  %-34s %s\n' "$w" mutant result how seconds test "first message"
caught=0 errors=0 total=0 unknown_runs=0
{
	echo '{"mutants": ['
	sep=""
	for f in "${patches[@]}"; do
		n=$(basename "$f" .patch)
		IFS=$'\t' read -r _ res test msg secs unknown mode <"$out/$n.result" ||
			{ res=ERROR test=- msg="no result" secs=0 unknown=0 mode=-; }
		total=$((total + 1))
		case $res in caught) caught=$((caught + 1)) ;; ERROR) errors=$((errors + 1)) ;; esac
		unknown_runs=$((unknown_runs + unknown))
		printf '%-*s %-7s %-12s %7s  %-34s %s\n' "$w" "$n" "$res" "$mode" "$secs" "$test" \
			"$(cut -c1-90 <<<"$msg")" >&3
		printf '%s  {"mutant": %s, "parts": %s, "bug": %s, "rule": %s, "result": %s, "how": %s, "test": %s, "message": %s, "seconds": %s, "lincheck_unknown": %s}' \
			"$sep" "$(json_str "$n")" "$(json_str "$(header "$f" parts)")" \
			"$(json_str "$(header "$f" bug)")" "$(json_str "$(header "$f" rule)")" \
			"$(json_str "$res")" "$(json_str "$mode")" "$(json_str "$test")" \
			"$(json_str "$msg")" "${secs:-0}" "${unknown:-0}"
		sep=$',\n'
	done
	printf '\n], "caught": %d, "total": %d, "errors": %d, "sim_budget_s": %d, "schedule": %s}\n' \
		"$caught" "$total" "$errors" "$sim_budget" "$(json_str "$sched")"
} 3>&1 >"$out/report.json"
printf '\n%d of %d mutants caught (%d%%) in %ss; %d ended in error; %d linearizability checks were UNKNOWN\n' \
	"$caught" "$total" $((total ? 100 * caught / total : 0)) "$(since "$t_all")" "$errors" "$unknown_runs"
echo "report: $out/report.json; each mutant's outputs: $out/NAME/"
[ "$errors" -eq 0 ] || exit 2
