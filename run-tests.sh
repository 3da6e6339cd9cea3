#!/usr/bin/env bash
# run-tests.sh: the stress runner. Runs chosen Raft/kvraft tests many times,
# several at once, each run a fresh process with a fresh seed, and keeps the
# log of every failed run with the command that replays it. It does not
# judge a grade (that is `make grade`); it hunts for rare failures.
#
#   ./run-tests.sh [options] [PATTERN ...]      (./run-tests.sh -h for help)
set -u

usage() {
	cat <<'EOF'
usage: ./run-tests.sh [options] [PATTERN ...]

Builds the tests once, then runs each selected test N times, P at a time,
each run in a process of its own with a fresh seed. A PATTERN is a part
(3A 3B 3C 3D 3E 4A 4B) or a regular expression matched against test names,
as with -run (e.g. 'Backup|Figure8', '^TestBasicAgree3B$'). With no
PATTERN, every test of 3A-3D and 4A-4B runs.

Options:
  -n, --iterations N  runs of each test (default 10; 1 with --seed)
  -p, --parallel P    runs at once (default: the number of CPUs)
      --race          build and run with ThreadSanitizer (make SAN=thread)
      --asan          build and run with AddressSanitizer (make SAN=address)
      --sim           build and run in simulation mode (make SIM=1): virtual
                      time, one thread at a time, each seed replays its run
                      exactly; combines with --asan, not with --race
      --sched S       with --sim: the schedule, random (default), pct or
                      pct:D (passed on as -sched S)
  -o, --output DIR    where the logs of failed runs go (default ./test-logs),
                      as TEST-SEED.log, each starting with the replay command
      --timeout SEC   kill a run after SEC seconds; counted as TIMEOUT, not
                      as a failure (default: each test's own limit, 120 s)
  -v, --verbose       a line for every run as it ends, passing ones too
                      (as when the output is not a terminal)
  -d, --debug         debug logs in the runs (RAFTLAB_DEBUG=1; -dd for 2);
                      RAFTLAB_TOPICS, if set, is passed on
      --keep-passing  keep the logs of passing runs too
      --fail-fast     stop at the first failed or timed-out run
      --seed S        give every run the seed S (replays a failed run)
      --program PATH  run the tests of another test program (no build)
  -h, --help          print this help

Exit status: 0 if every run passed, 1 if a run failed or timed out,
2 for a usage or build error.
EOF
}

die() {
	printf 'run-tests.sh: %s\n' "$*" >&2
	exit 2
}

if [ -z "${BASH_VERSINFO:-}" ] || [ "${BASH_VERSINFO[0]}" -lt 4 ]; then
	echo "run-tests.sh: needs bash 4 or later" >&2
	exit 2
fi

# ---- options ----
iterations=""
parallel=""
san=""
sim=""
sched=""
outdir=./test-logs
timeout=""
debug=""
keep_passing=false
verbose=false
fail_fast=false
seed=""
program=""
patterns=()

# need OPTION VALUE: the option has a value, and it is not the next option
# ("-o -v" forgot the folder).
need() {
	[ $# -ge 2 ] && [ -n "$2" ] || die "option $1 needs a value"
	[[ $2 != -* ]] || die "option $1 needs a value, not the option '$2'"
}
while [ $# -gt 0 ]; do
	case $1 in
	-n | --iterations) need "$@"; iterations=$2; shift ;;
	-p | --parallel) need "$@"; parallel=$2; shift ;;
	--race)
		[ "$san" != address ] || die "--race and --asan exclude each other: pick one sanitizer"
		san=thread ;;
	--asan)
		[ "$san" != thread ] || die "--race and --asan exclude each other: pick one sanitizer"
		san=address ;;
	--sim) sim=1 ;;
	--sched) need "$@"; sched=$2; shift ;;
	-o | --output) need "$@"; outdir=$2; shift ;;
	--timeout) need "$@"; timeout=$2; shift ;;
	-v | --verbose) verbose=true ;;
	-d | --debug) debug=1 ;;
	-dd) debug=2 ;;
	--keep-passing) keep_passing=true ;;
	--fail-fast) fail_fast=true ;;
	--seed) need "$@"; seed=$2; shift ;;
	--program) need "$@"; program=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; patterns+=("$@"); break ;;
	-*) usage >&2; die "unknown option $1" ;;
	*) patterns+=("$1") ;;
	esac
	shift
done

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
if [ -n "$sim" ] && [ "$san" = thread ]; then
	die "--race is a real-mode tool (one thread at a time hides races): use --sim alone, --sim --asan, or --race alone"
fi
if [ -n "$sched" ]; then
	[ -n "$sim" ] || [ -n "$program" ] || die "--sched needs --sim (schedules exist only in simulation mode)"
	[[ $sched =~ ^(random|pct|pct:[1-9][0-9]?)$ ]] || die "--sched needs random, pct or pct:D, not '$sched'"
fi
[ -z "$iterations" ] || is_count "$iterations" || die "-n needs a positive number, not '$iterations'"
[ -z "$parallel" ] || is_count "$parallel" || die "-p needs a positive number, not '$parallel'"
[ -z "$timeout" ] || is_count "$timeout" || die "--timeout needs a positive number of seconds, not '$timeout'"
if [ -n "$seed" ]; then
	[[ $seed =~ ^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$ ]] || die "--seed needs a number (decimal or 0x hex), not '$seed'"
	seed=$(printf '0x%x' "$seed" 2>/dev/null) || die "--seed $seed is too large"
fi
: "${iterations:=$([ -n "$seed" ] && echo 1 || echo 10)}"
if [ -z "$parallel" ]; then
	parallel=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null ||
		sysctl -n hw.ncpu 2>/dev/null || echo 2)
fi
[ ${#patterns[@]} -gt 0 ] || patterns=(3A 3B 3C 3D 4A 4B)

# The log folder is made (or checked) before anything runs: a failure's log
# that cannot be written is a lost failure. One this run made and left
# empty is removed at the end.
outdir_made=false
if [ ! -d "$outdir" ]; then
	[ ! -e "$outdir" ] || die "the log folder $outdir (-o) is a file: give a folder"
	mkdir -p -- "$outdir" 2>/dev/null ||
		die "cannot create the log folder $outdir (-o): give a folder you can write"
	outdir_made=true
fi
probe=$(mktemp "$outdir/.run-tests.XXXXXX" 2>/dev/null) ||
	die "cannot write in the log folder $outdir (-o): give a folder you can write"
rm -f -- "$probe"

root=$(cd "$(dirname "$0")" && pwd) || exit 2
# Paths in commands are printed relative to the repository when run from it.
here=$root/
[ "$PWD" != "$root" ] || here=""
tty=false
[ -t 1 ] && tty=true

# ---- build, and find the test programs ----
if [ -n "$program" ]; then
	[ -f "$program" ] && [ -x "$program" ] ||
		die "--program $program is not an executable file (a test program, such as build/default/raft_test)"
	case $program in */*) ;; *) program=./$program ;; esac
	"$program" -list >/dev/null 2>&1 ||
		die "--program $program is not a raftlab test program: '$program -list' failed"
	raft_prog=$program
	kv_prog=$program
	member_prog=$program
else
	targets=()
	for p in "${patterns[@]}"; do
		case ${p^^} in
		3[A-D]) targets+=(raft_test) ;;
		3E) targets+=(membership_test) ;;
		4[AB]) targets+=(kvraft_test) ;;
		*) targets+=(raft_test kvraft_test membership_test) ;;
		esac
	done
	B=$here$(make -s --no-print-directory -C "$root" SAN="$san" SIM="$sim" print-builddir) ||
		die "make print-builddir failed"
	mapfile -t targets < <(printf "${B#"$here"}/%s\n" "${targets[@]}" | sort -u)
	echo "building ${targets[*]} ..."
	make -s --no-print-directory -C "$root" -j"$parallel" SAN="$san" SIM="$sim" "${targets[@]}" ||
		die "the build failed"
	raft_prog=$B/raft_test
	kv_prog=$B/kvraft_test
	member_prog=$B/membership_test
fi

# ---- the tests to run: t_prog[k], t_name[k] ----
t_prog=()
t_name=()
declare -A seen=()
add_tests() { # PROGRAM REGEX: adds the tests of PROGRAM that REGEX selects
	local name
	while IFS= read -r name; do
		[ -n "$name" ] || continue
		matched=$((matched + 1))
		[ -z "${seen[$1 $name]:-}" ] || continue
		seen[$1 $name]=1
		t_prog+=("$1")
		t_name+=("$name")
	done < <("$1" -list -run="$2" 2>/dev/null)
}
for p in "${patterns[@]}"; do
	matched=0
	case ${p^^} in
	3[A-D]) add_tests "$raft_prog" "${p^^}\$" ;;
	3E) add_tests "$member_prog" "3E\$" ;;
	4[AB]) add_tests "$kv_prog" "${p^^}\$" ;;
	*)
		case $("$raft_prog" -list -run="$p" 2>&1 >/dev/null) in
		*"bad -run pattern"*) die "bad pattern '$p' (an extended regular expression)" ;;
		esac
		add_tests "$raft_prog" "$p"
		[ "$kv_prog" = "$raft_prog" ] || add_tests "$kv_prog" "$p"
		[ "$member_prog" = "$raft_prog" ] || [ ! -x "$member_prog" ] ||
			add_tests "$member_prog" "$p"
		;;
	esac
	[ "$matched" -gt 0 ] ||
		die "no test matches '$p' (parts are 3A-3D, 3E, 4A, 4B; a test program's -list shows the names)"
done
ntests=${#t_name[@]}
[ "$ntests" -gt 0 ] || die "no tests selected"

total=$((ntests * iterations))
[ "$parallel" -le "$total" ] || parallel=$total

# Seeds: given, or 64 random bits each.
seeds=()
if [ -n "$seed" ]; then
	for ((j = 0; j < total; j++)); do seeds+=("$seed"); done
else
	mapfile -t seeds < <(od -An -v -N$((8 * total)) -tx8 /dev/urandom |
		tr -s ' ' '\n' | sed -e '/^$/d' -e 's/^0*/0x/' -e 's/^0x$/0x0/')
	[ "${#seeds[@]}" -eq "$total" ] || die "cannot read random seeds from /dev/urandom"
fi

[ -z "$debug" ] || export RAFTLAB_DEBUG=$debug
tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX") || die "mktemp failed"

# Hard limit: the program's watchdog kills a test at -timeout SEC; timeout(1),
# where there is one, catches a program that outlives it anyway.
prog_args=()
[ -z "$sched" ] || prog_args+=(-sched "$sched")
wrap=()
if [ -n "$timeout" ]; then
	prog_args+=(-timeout "$timeout")
	if command -v timeout >/dev/null 2>&1; then
		wrap=(timeout -k 10 $((timeout + 60)))
	fi
fi

now_ms() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo $((10#$t / 1000))
	else
		echo $(($(date +%s) * 1000))
	fi
}
fmt_secs() { printf '%d.%02ds' $(($1 / 1000)) $(($1 % 1000 / 10)); }
fmt_clock() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# shell-quote WORD: WORD as a shell would need it.
quote() {
	if [[ $1 =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then
		printf '%s' "$1"
	else
		printf "'%s'" "${1//\'/\'\\\'\'}"
	fi
}

# The command that replays run j by hand.
replay_cmd() {
	local j=$1 k=$(($1 % ntests)) env=""
	[ -z "$debug" ] || env="RAFTLAB_DEBUG=$debug "
	[ -z "$debug" ] || [ -z "${RAFTLAB_TOPICS:-}" ] || env+="RAFTLAB_TOPICS=$(quote "$RAFTLAB_TOPICS") "
	printf '%s%s -run %s -seed %s%s%s' "$env" "${t_prog[k]}" "'^${t_name[k]}\$'" \
		"${seeds[j]}" "${sched:+ -sched $sched}" "${timeout:+ -timeout $timeout}"
}

# ---- per-test statistics ----
declare -a st_runs st_pass st_fail st_tmo st_sum st_max
for ((k = 0; k < ntests; k++)); do
	st_runs[k]=0 st_pass[k]=0 st_fail[k]=0 st_tmo[k]=0 st_sum[k]=0 st_max[k]=0
done
done_runs=0
n_fail=0
n_tmo=0
n_saved=0
n_lost=0
t0=$(now_ms)

progress() {
	$tty || return 0
	local el=$((($(now_ms) - t0) / 1000)) eta="?"
	[ "$done_runs" -eq 0 ] || eta=$(fmt_clock $((el * (total - done_runs) / done_runs)))
	printf '\r\033[K[%d/%d] %d failed, %d timed out, %s elapsed, ETA %s' \
		"$done_runs" "$total" "$n_fail" "$n_tmo" "$(fmt_clock "$el")" "$eta"
}
say() { # a line of its own, above the progress line
	if $tty; then printf '\r\033[K'; fi
	printf '%s\n' "$*"
}

declare -a start_at
declare -A job_of_pid=()
running=0

launch() {
	local j=$1 k=$(($1 % ntests))
	mkdir -p "$tmp/$j/logs"
	start_at[j]=$(now_ms)
	RAFTLAB_LOG_DIR=$tmp/$j/logs ${wrap[@]+"${wrap[@]}"} "${t_prog[k]}" \
		-run "^${t_name[k]}\$" -seed "${seeds[j]}" -results "$tmp/$j/result" \
		${prog_args[@]+"${prog_args[@]}"} </dev/null >"$tmp/$j/out" 2>&1 &
	job_of_pid[$!]=$j
	running=$((running + 1))
}

# save_log J RESULT RC MS: copies run j's output to the output folder, after
# a header with its replay command. Prints the path; fails, printing
# nothing, if the log could not be written.
save_log() {
	local j=$1 k=$(($1 % ntests)) file
	mkdir -p -- "$outdir" 2>/dev/null || return 1
	file=$outdir/${t_name[k]}-${seeds[j]}.log
	[ ! -e "$file" ] || file=$outdir/${t_name[k]}-${seeds[j]}-$((j / ntests + 1)).log
	{
		printf '# run-tests.sh: %s, seed %s: %s (exit status %d) after %s\n' \
			"${t_name[k]}" "${seeds[j]}" "$2" "$3" "$(fmt_secs "$4")"
		printf '# replay: %s\n' "$(replay_cmd "$j")"
		# The runner's own copy of the log is about to be deleted: point at this one.
		sed "s|^\(        log: \).*|\1$file|" "$tmp/$j/out"
	} 2>/dev/null >"$file" || { rm -f -- "$file"; return 1; }
	printf '%s' "$file"
}

# finish PID RC: records the end of a run.
finish() {
	local j=${job_of_pid[$1]} rc=$2 k ms result file
	unset "job_of_pid[$1]"
	running=$((running - 1))
	k=$((j % ntests))
	ms=$(($(now_ms) - start_at[j]))
	# The program's -results line: test, result, seconds, seed, rpcs, ops,
	# log, message (escaped).
	local line="" fields=() message=""
	[ ! -f "$tmp/$j/result" ] || line=$(grep -v '^#' "$tmp/$j/result" | head -n 1)
	# (tabs made \x1f first: read would merge a run of tabs, empty fields)
	IFS=$'\x1f' read -r -a fields <<<"${line//$'\t'/$'\x1f'}"
	case ${fields[1]:-} in
	pass) result=PASS ;;
	timeout) result=TIMEOUT ;;
	?*) result=FAIL ;;
	*) # no result: the program itself died, or timeout(1) killed it
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			result=TIMEOUT message="killed by timeout(1) after $(fmt_secs "$ms")"
		else
			result=FAIL message="the test program ended with status $rc and no result"
		fi ;;
	esac
	[ "$result" != PASS ] || [ "$rc" -eq 0 ] || result=FAIL
	[ -z "${fields[7]:-}" ] || message=$(printf '%b' "${fields[7]}")
	done_runs=$((done_runs + 1))
	st_runs[k]=$((st_runs[k] + 1))
	st_sum[k]=$((st_sum[k] + ms))
	[ "$ms" -le "${st_max[k]}" ] || st_max[k]=$ms
	case $result in
	PASS) st_pass[k]=$((st_pass[k] + 1)) ;;
	FAIL) st_fail[k]=$((st_fail[k] + 1)); n_fail=$((n_fail + 1)) ;;
	TIMEOUT) st_tmo[k]=$((st_tmo[k] + 1)); n_tmo=$((n_tmo + 1)) ;;
	esac
	file=""
	if [ "$result" != PASS ] || $keep_passing; then
		if file=$(save_log "$j" "$result" "$rc" "$ms"); then
			[ "$result" = PASS ] || n_saved=$((n_saved + 1))
		else
			file="not written (could not write in $outdir)"
			[ "$result" = PASS ] || n_lost=$((n_lost + 1))
		fi
	fi
	if [ "$result" != PASS ]; then
		say "$(printf '%-7s %s  seed=%s  %s  log: %s' "$result" "${t_name[k]}" \
			"${seeds[j]}" "$(fmt_secs "$ms")" "$file")"
		# The failure's first lines, e.g. a sanitizer's report named at
		# its file:line.
		printf '%s\n' "$message" | head -n "$([ "$result" = FAIL ] && echo 3 || echo 1)" |
			sed 's/^/        /'
	elif $verbose || ! $tty; then
		printf '%-7s %s  seed=%s  %s\n' PASS "${t_name[k]}" "${seeds[j]}" "$(fmt_secs "$ms")"
	fi
	rm -rf "${tmp:?}/$j"
	progress
}

stop_all() { # signal: stops the running tests (the runner kills its children)
	local pid
	for pid in "${!job_of_pid[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	wait 2>/dev/null
}
interrupted=""
trap 'interrupted=130' INT
trap 'interrupted=143' TERM
trap 'rm -rf "$tmp"' EXIT

# ---- the run loop: a slot is refilled as soon as its run ends ----
# `wait -n -p` (bash 5.1) wakes up as soon as any run (or the 1 s ticker of
# the progress line) ends; older bash polls with next_done.
have_wait_p=false
if [ "${BASH_VERSINFO[0]}" -gt 5 ] ||
	{ [ "${BASH_VERSINFO[0]}" -eq 5 ] && [ "${BASH_VERSINFO[1]}" -ge 1 ]; }; then
	have_wait_p=true
fi
next_done() { # sets pid and rc to a finished run's, or pid to the ticker's
	local p
	while [ -z "$interrupted" ]; do
		for p in "${!job_of_pid[@]}" $ticker; do
			if ! kill -0 "$p" 2>/dev/null; then
				wait "$p"
				rc=$?
				pid=$p
				return
			fi
		done
		sleep 0.1
	done
}
echo "running $ntests test(s) x $iterations, $parallel at a time, logs of failures in $outdir"
next=0
ticker=""
stopped=false
while [ "$next" -lt "$total" ] || [ "$running" -gt 0 ]; do
	while ! $stopped && [ -z "$interrupted" ] && [ "$next" -lt "$total" ] &&
		[ "$running" -lt "$parallel" ]; do
		launch "$next"
		next=$((next + 1))
	done
	if $tty && [ -z "$ticker" ]; then
		sleep 1 &
		ticker=$!
	fi
	pid=""
	if $have_wait_p; then
		wait -n -p pid
		rc=$?
	else
		next_done # bash before 5.1: a small polling loop
	fi
	if [ -n "$interrupted" ] && ! $stopped; then
		stopped=true
		say "interrupted: stopping the running tests"
		stop_all
		break
	fi
	if [ -z "$pid" ]; then
		continue
	elif [ "$pid" = "$ticker" ]; then
		ticker=""
		progress
	elif [ -n "${job_of_pid[$pid]:-}" ]; then
		finish "$pid" "$rc"
		if $fail_fast && ! $stopped && [ $((n_fail + n_tmo)) -gt 0 ]; then
			stopped=true
			say "--fail-fast: stopping after the first failure"
			stop_all
			break
		fi
	fi
done
[ -z "$ticker" ] || kill "$ticker" 2>/dev/null
wait 2>/dev/null
if $tty; then printf '\r\033[K'; fi

# ---- the table ----
elapsed=$((($(now_ms) - t0) / 1000))
w=4
for ((k = 0; k < ntests; k++)); do [ ${#t_name[k]} -le $w ] || w=${#t_name[k]}; done
printf '\n%-*s %5s %6s %6s %8s %8s %8s\n' "$w" test runs passed failed timeout mean max
for ((k = 0; k < ntests; k++)); do
	mean=0
	[ "${st_runs[k]}" -eq 0 ] || mean=$((st_sum[k] / st_runs[k]))
	printf '%-*s %5d %6d %6d %8d %8s %8s\n' "$w" "${t_name[k]}" "${st_runs[k]}" \
		"${st_pass[k]}" "${st_fail[k]}" "${st_tmo[k]}" "$(fmt_secs "$mean")" \
		"$(fmt_secs "${st_max[k]}")"
done
printf '%d runs in %s: %d passed, %d failed, %d timed out' "$done_runs" \
	"$(fmt_clock "$elapsed")" $((done_runs - n_fail - n_tmo)) "$n_fail" "$n_tmo"
[ "$done_runs" -eq "$total" ] || printf ' (%d not run)' $((total - done_runs))
printf '\n'
[ "$n_saved" -eq 0 ] || echo "logs of the failed runs are in $outdir"
[ "$n_lost" -eq 0 ] || echo "$n_lost failed run(s) lost their log: could not write in $outdir" >&2
! $outdir_made || rmdir -- "$outdir" 2>/dev/null || true
[ -z "$interrupted" ] || exit "$interrupted"
[ $((n_fail + n_tmo)) -eq 0 ] && [ "$done_runs" -eq "$total" ]
