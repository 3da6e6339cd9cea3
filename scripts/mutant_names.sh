# shellcheck shell=bash
# mutant_names.sh: sourced by scripts/mutants.sh and scripts/rebase_mutants.sh
# (bash), the one way both choose mutants and check where a patch landed.
#
# select_mutants NAME...: sets the array patches to mutants/raft/*.patch then
# mutants/kv/*.patch, or to those whose file name contains a NAME; dies
# (exit 2, through the caller's die) when none matches.
#
# mutant_files PATCH: the files a patch changes, one a line.
#
# check_hunk_places PATCH NEWDIFF: whether each hunk of PATCH landed in the
# function its @@ line names. NEWDIFF is what `diff -u -p` says of the files
# after PATCH was applied to a scratch copy. Why: `patch` applies a hunk at
# an offset (and, with fuzz, with fewer context lines) wherever the lines
# match, which can be another function whose lines look the same; a mutant
# there may be masked and escape every test.
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

mutant_files() {
	sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"
}

# hunk_places DIFF: one line per hunk, "FILE<TAB>TEXT", TEXT being what
# diff -p wrote after the @@ pair (the start of the line that opens the
# enclosing function, cut at 40 characters), empty if nothing. Counts each
# hunk's lines, so that a removed "-- " or added "++ " line is not taken
# for a file's header.
hunk_places() {
	awk '
	function count(s) { return s ~ /,/ ? substr(s, index(s, ",") + 1) + 0 : 1 }
	old > 0 || new > 0 {
		c = substr($0, 1, 1)
		if (c == "-") old--
		else if (c == "+") new--
		else if (c == " " || $0 == "") { old--; new-- }
		next
	}
	/^\+\+\+ / { file = $2; sub(/^b\//, "", file); next }
	/^@@ -[0-9,]+ \+[0-9,]+ @@/ {
		split($0, f, " ")
		old = count(f[2]); new = count(f[3])
		t = $0
		sub(/^@@ [^@]* @@ ?/, "", t)
		print file "\t" t
	}
	' "$1"
}

# function_name TEXT: the function TEXT opens (the last word before its
# first "("), or TEXT itself when it has no "(" (a struct, or a line cut
# before its name ends).
function_name() {
	local t=$1
	if [[ $t == *"("* ]]; then
		t=${t%%(*}
		t=${t%"${t##*[![:space:]]}"}
		t=${t##*[[:space:]*]}
	fi
	printf '%s' "${t:-(no function)}"
}

# check_hunk_places PATCH NEWDIFF: 0 when every hunk of NEWDIFF is in the
# file and function its hunk of PATCH names, and there are as many; 1 with
# a message per mismatch on stderr; 2, silent, when no @@ line of PATCH
# names a function but some of NEWDIFF's do (PATCH was made with diff -u,
# not diff -u -p): there is nothing to compare with.
check_hunk_places() {
	local name want got i n w g wf gf
	name=$(basename "$1" .patch)
	want=$(hunk_places "$1")
	got=$(hunk_places "$2")
	if ! cut -f2 <<<"$want" | grep -q '[^[:space:]]' &&
		cut -f2 <<<"$got" | grep -q '[^[:space:]]'; then
		return 2
	fi
	n=$(grep -c '' <<<"$want")
	if [ "$n" -ne "$(grep -c '' <<<"$got")" ]; then
		printf 'mutant %s: it has %d hunk(s), but %d once applied (hunks merged or split): it did not land as it was made\n' \
			"$name" "$n" "$(grep -c '' <<<"$got")" >&2
		return 1
	fi
	local bad=0
	for ((i = 1; i <= n; i++)); do
		w=$(sed -n "${i}p" <<<"$want")
		g=$(sed -n "${i}p" <<<"$got")
		wf=$(function_name "${w#*$'\t'}")
		gf=$(function_name "${g#*$'\t'}")
		if [ "${w%%$'\t'*}" != "${g%%$'\t'*}" ] || [ "$wf" != "$gf" ]; then
			printf 'mutant %s: hunk %d belongs in %s of %s (its @@ line) but landed in %s of %s\n' \
				"$name" "$i" "$wf" "${w%%$'\t'*}" "$gf" "${g%%$'\t'*}" >&2
			bad=1
		fi
	done
	return $bad
}
