#!/bin/sh
# check_handout.sh: proves that a handout holds no reference code: no
# skeleton folders, and no function body of the reference files (longer than
# a few lines) anywhere in it, compared with comments and white space removed.
# Bodies that the skeletons give the students as they are (--given) are
# allowed.
#
#   scripts/check_handout.sh [--given SKELETON.c ...] HANDOUT_DIR REFERENCE.c ...
set -u

given=""
while [ "${1:-}" = --given ]; do
	given="$given $2"
	shift 2
done
dir=${1:?usage: $0 [--given SKELETON.c ...] HANDOUT_DIR REFERENCE.c ...}
shift
min_lines=6 # short bodies (a getter, an init of three fields) may well be shared
status=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_handout.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

for d in raft/skeleton kvraft/skeleton; do
	if [ -e "$dir/$d" ]; then
		echo "check_handout: $dir/$d should not be in the handout"
		status=1
	fi
done

# normalise: C text without comments, string contents kept, no white space.
normalise() {
	awk '
	{
		line = $0
		out = ""
		while (line != "") {
			if (incomment) {
				i = index(line, "*/")
				if (!i) { line = ""; break }
				line = substr(line, i + 2); incomment = 0
			} else {
				i = index(line, "/*"); j = index(line, "//")
				if (j && (!i || j < i)) { out = out substr(line, 1, j - 1); line = ""; break }
				if (!i) { out = out line; line = ""; break }
				out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1
			}
		}
		gsub(/[ \t\r]/, "", out)
		printf "%s", out
	}' "$@"
}

# All of the handout's C text, normalised, one file per line.
find "$dir" -type f \( -name '*.c' -o -name '*.h' \) | sort | while IFS= read -r f; do
	normalise "$f"
	echo
done >"$tmp/handout"

# The skeletons' code, normalised: bodies found there are handed out on purpose.
for f in $given; do
	normalise "$f"
	echo
done >"$tmp/given"

checked=0
for ref in "$@"; do
	[ -f "$ref" ] || continue
	# Each function body: from a "{" alone at column 0 to the next "}".
	awk -v dir="$tmp" -v base="$(basename "$ref")" '
		/^\{/ { n++; file = dir "/body." base "." n; lines = 0; start = NR; inbody = 1 }
		inbody { print > file; lines++ }
		/^\}/ && inbody { close(file); inbody = 0; print file "\t" lines "\t" start >> (dir "/index") }
	' "$ref"
done
if [ -f "$tmp/index" ]; then
	while IFS="$(printf '\t')" read -r body lines start; do
		[ "$lines" -ge "$min_lines" ] || continue
		checked=$((checked + 1))
		text=$(normalise "$body")
		[ ${#text} -ge 40 ] || continue
		if awk -v t="$text" 'index($0, t) { found = 1 } END { exit !found }' "$tmp/given"; then
			continue
		fi
		if awk -v t="$text" 'index($0, t) { found = 1 } END { exit !found }' "$tmp/handout"; then
			name=$(basename "$body" | sed 's/^body\.//; s/\.[0-9]*$//')
			echo "check_handout: the body of the function at $name:$start is in the handout"
			status=1
		fi
	done <"$tmp/index"
fi
if [ "$status" -eq 0 ]; then
	echo "check_handout: ok: $checked reference function bodies, none in $dir/"
fi
exit "$status"
