#!/bin/sh
# handout.sh: makes the student handout: DIR (default handout/) and
# DIR.tar.gz, the framework with the student skeletons in place of the
# reference implementations, then proves with check_handout.sh that no
# reference code is left in it. Run through `make handout`.
#
#   scripts/handout.sh [DIR]
set -eu

dir=${1:-handout}
cd "$(dirname "$0")/.."
case $dir in /* | */* | .*) echo "handout.sh: DIR must be a plain name in the repository" >&2; exit 2 ;; esac

rm -rf "$dir" "$dir.tar.gz"
mkdir "$dir"

# Every file of the repository (tracked, or new and not ignored), except the
# reference implementations, their skeletons' folders, CI, the mutation
# harness (its patches quote the reference), the framework's own tests (the
# runner's, the tools', the fuzz corpus), the instructors' scripts and local
# outputs: what is left is what a student builds, runs and reads.
git ls-files --cached --others --exclude-standard |
	grep -v -E -e '^(raft/raft\.c|kvraft/client\.c|kvraft/server\.c)$' \
		-e '^(raft|kvraft)/skeleton/' -e '^(test-logs|handout|autograder-handout|\.ci|mutants)/' -e '^README\.md$' \
		-e '^scripts/(mutants|rebase_mutants|mutant_names)\.sh$' -e '^scripts/autograder(\.sh$|/)' \
		-e '^runner/selftest\.(c|sh)$' -e '^(tests|tests/unit|tests/bench|tools|scripts)/[a-z0-9_]+_test\.sh$' \
		-e '^(tests/unit/sim_trouble\.c|tests/bench/kv_bench\.c)$' -e '^(tests/fuzz|tools/testdata)/' \
		-e '^kvraft/settings\.h$' \
		-e '^(tests/bench/figure16\.c|scripts/figure16\.py|docs/figure16\.svg)$' \
		-e '^scripts/(check_handout\.sh|handout\.sh|handout-README\.md|fuzz\.sh|sim_measure\.sh|check_results_json\.py|gradescope-results\.schema\.json)$' |
	while IFS= read -r f; do
		[ -f "$f" ] || continue # deleted but still in the index
		mkdir -p "$dir/$(dirname -- "$f")"
		cp -p -- "$f" "$dir/$f"
	done

# The skeletons take the reference code's place.
cp raft/skeleton/raft.c "$dir/raft/raft.c"
for f in client server; do
	if [ -f "kvraft/skeleton/$f.c" ]; then
		mkdir -p "$dir/kvraft"
		cp "kvraft/skeleton/$f.c" "$dir/kvraft/$f.c"
	fi
done
cp scripts/handout-README.md "$dir/README.md"
# The Makefile's list of targets leaves out what only the repository has.
sed -i -e '/^#   make RAFT=skeleton /d' -e '/^#   make KV=skeleton /d' \
	-e 's/^#   make handout          the student handout  make grade    grade all parts$/#   make grade            grade all parts/' \
	-e '/^#   make autograder /d' \
	-e '/^#   make figure16 /d' \
	-e 's/^#   make bench            benchmarks          make fuzz     fuzz the codec$/#   make bench            benchmarks/' \
	"$dir/Makefile"
if grep -qE '^#   make (RAFT=skeleton|KV=skeleton|handout|autograder|figure16) |^#   .*make fuzz' "$dir/Makefile"; then
	echo "handout.sh: the handout's Makefile still lists a repository-only target" >&2
	exit 1
fi

given=""
for f in raft/skeleton/*.c kvraft/skeleton/*.c; do
	[ ! -f "$f" ] || given="$given --given $f"
done
# shellcheck disable=SC2086 # split on purpose
scripts/check_handout.sh $given "$dir" raft/raft.c kvraft/client.c kvraft/server.c
tar -czf "$dir.tar.gz" "$dir"
echo "handout: $dir/ ($(find "$dir" -type f | wc -l | tr -d ' ') files) and $dir.tar.gz"
