#!/usr/bin/env bash
# rebase_mutants.sh: rewrites the mutant patches (mutants/) against the
# reference as it is now, after a change to raft/ or kvraft/ moved the code
# under them: each patch is applied (with up to three lines of fuzz) to a
# scratch copy and taken again with exact offsets and context (diff -u -p,
# so that each @@ line names the function its hunk is in), its four header
# lines kept. A patch that cannot be applied, or that lands in another
# function than its @@ lines name (check_hunk_places in mutant_names.sh: a
# fuzzed hunk can match lines that look the same elsewhere), is named,
# left as it is, and makes the exit status 1: redo it by hand
# (mutants/README.md). A patch whose @@ lines name no function (made with
# diff -u alone) cannot be checked: it is rewritten with a warning naming
# where each hunk landed, to check by eye.
#
#   scripts/rebase_mutants.sh [--format] [NAME ...]
#
# --format: for a change of the house style. Each patch is applied to the
# tree as it is, then both sides are put through clang-format before they
# are compared, so that the patch fits the tree once `make format` has run.
set -u

die() {
	printf 'rebase_mutants.sh: %s\n' "$*" >&2
	exit 2
}

format=false
names=()
while [ $# -gt 0 ]; do
	case $1 in
	--format) format=true ;;
	-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	-*) die "unknown option $1 (the only one is --format)" ;;
	*) names+=("$1") ;;
	esac
	shift
done
if $format && ! command -v clang-format >/dev/null 2>&1; then
	die "--format needs clang-format (sudo apt-get install clang-format)"
fi
command -v patch >/dev/null 2>&1 || die "patch is not installed (sudo apt-get install patch)"

root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$root" || exit 2
[ -d mutants ] || die "no mutants/ here: run it in the raftlab repository"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rebase_mutants.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

failed=0
rewrote=0
kept=0
. scripts/mutant_names.sh
select_mutants ${names[@]+"${names[@]}"}
for f in "${patches[@]}"; do
	files=$(mutant_files "$f")
	rm -rf "$tmp/a" "$tmp/b"
	mkdir -p "$tmp/a" "$tmp/b"
	cp .clang-format "$tmp/a/"
	cp .clang-format "$tmp/b/"
	for x in $files; do
		[ -f "$x" ] || { echo "FAIL $f: it patches $x, which is not in the tree"; failed=$((failed + 1)); continue 2; }
		mkdir -p "$tmp/a/$(dirname "$x")" "$tmp/b/$(dirname "$x")"
		cp "$x" "$tmp/a/$x"
		cp "$x" "$tmp/b/$x"
	done
	if ! (cd "$tmp/b" && patch -p1 --batch --silent -F3 <"$root/$f" >"$tmp/log" 2>&1); then
		echo "FAIL $f: does not apply; redo it by hand:"
		sed 's/^/    /' "$tmp/log"
		failed=$((failed + 1))
		continue
	fi
	{
		sed -n '1,4p' "$f"
		for x in $files; do
			if $format; then
				# .clang-format is copied beside both, where clang-format looks
				(cd "$tmp/a" && clang-format -i "$x") || die "clang-format failed on $x"
				(cd "$tmp/b" && clang-format -i "$x") || die "clang-format failed on $x"
			fi
			diff -u -p --label "a/$x" --label "b/$x" "$tmp/a/$x" "$tmp/b/$x"
		done
	} >"$tmp/new"
	if ! grep -q '^@@' "$tmp/new"; then
		echo "FAIL $f: applied, but changes nothing any more"
		failed=$((failed + 1))
		continue
	fi
	check_hunk_places "$f" "$tmp/new" 2>"$tmp/places"
	case $? in
	0) unchecked=false ;;
	2) unchecked=true ;;
	*)
		echo "FAIL $f: applied, but not where it was made; left as it is, redo it by hand where its bug belongs:"
		sed 's/^/    /' "$tmp/places"
		failed=$((failed + 1))
		continue
		;;
	esac
	if cmp -s "$f" "$tmp/new"; then
		kept=$((kept + 1))
		continue
	fi
	cp "$tmp/new" "$f"
	echo "rewrote $f"
	rewrote=$((rewrote + 1))
	if $unchecked; then
		echo "    WARNING: its @@ lines named no function, so where it landed could not be checked;"
		echo "    they do now: check by eye that each hunk is where the bug belongs:"
		i=0
		hunk_places "$tmp/new" | while IFS=$'\t' read -r x t; do
			i=$((i + 1))
			printf '      hunk %d: in %s of %s\n' "$i" "$(function_name "$t")" "$x"
		done
	fi
done
echo "rebase_mutants: $rewrote rewritten, $kept unchanged, $failed to redo by hand"
[ "$failed" -eq 0 ]
