# mutant_names.sh: sourced by scripts/mutants.sh and scripts/rebase_mutants.sh
# (bash), the one way both choose mutants. select_mutants NAME...: sets the
# array patches to mutants/raft/*.patch then mutants/kv/*.patch, or to those
# whose file name contains a NAME; dies (exit 2, through the caller's die)
# when none matches.
select_mutants() {
	local f n keep
	patches=()
	for f in mutants/raft/*.patch mutants/kv/*.patch; do
		[ -f "$f" ] || continue
		if [ $# -gt 0 ]; then
			keep=false
			for n in "$@"; do
				case $(basename "$f") in *"$n"*) keep=true ;; esac
			done
			$keep || continue
		fi
		patches+=("$f")
	done
	[ ${#patches[@]} -gt 0 ] || die "no mutant matches${*:+ '$*'} (mutants/raft/*.patch, mutants/kv/*.patch)"
}
