#!/bin/sh
# check_format.sh: checks every C source and header of the tree against the
# house style (.clang-format), naming each file that differs and showing
# how; with --fix, rewrites them instead. `make format-check` and
# `make format` run it; `make check` and CI check.
#
#   usage: scripts/check_format.sh [--fix]
set -u
cd "$(dirname "$0")/.."
fix=false
case ${1:-} in
--fix) fix=true ;;
"") ;;
*) echo "check_format.sh: unknown option $1 (the only one is --fix)" >&2; exit 2 ;;
esac
if ! command -v clang-format >/dev/null 2>&1; then
	echo "check_format.sh: clang-format is not installed (sudo apt-get install clang-format)" >&2
	exit 2
fi
if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
	files=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
else
	files=$(find . -path ./build -prune -o \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
fi
if $fix; then
	# shellcheck disable=SC2086 # file names have no spaces
	clang-format -i $files
	exit 0
fi
tmp=$(mktemp) || exit 2
trap 'rm -f "$tmp"' EXIT
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	if ! clang-format "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - >"$tmp"; then
		bad=$((bad + 1))
		head -n 20 "$tmp"
	fi
done
n=$(printf '%s\n' $files | wc -l)
if [ "$bad" -gt 0 ]; then
	echo "check_format: $bad of $n files differ from .clang-format's style; make format rewrites them" >&2
	exit 1
fi
echo "check_format: $n files in .clang-format's style"
