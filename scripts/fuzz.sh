#!/bin/sh
# fuzz.sh SECONDS: fuzzes the codec with libFuzzer (clang -fsanitize=fuzzer,
# with ASan and UBSan) for SECONDS seconds (default 60). Builds into
# build/fuzz/, works on a copy of the seed corpus (build/fuzz/corpus) so
# tests/fuzz/corpus stays as committed, and exits non-zero on a crash,
# naming the input that caused it. Installs clang and libFuzzer with apt-get
# when they are missing (through sudo when not root), as deps.sh does.
set -u

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
	echo "usage: scripts/fuzz.sh SECONDS" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/.." || exit 2
out=build/fuzz
say() { printf 'fuzz.sh: %s\n' "$*" >&2; }

# Installs Debian packages, or says what to install and fails.
install() {
	if ! command -v apt-get >/dev/null 2>&1; then
		say "missing $*: install clang with libFuzzer (Debian: apt-get install $*)"
		exit 1
	fi
	if [ "$(id -u)" = 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		say "missing $*: run as root: apt-get install $*"
		exit 1
	fi
	say "installing $* with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@"; } >/dev/null; then
		say "could not install $*. Run: ${sudo:+sudo }apt-get install $*"
		exit 1
	fi
}

# libFuzzer links when a one-line fuzz target does.
have_libfuzzer() {
	mkdir -p "$out"
	echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' |
		clang -fsanitize=fuzzer -x c - -o "$out/probe" >/dev/null 2>&1
	rc=$?
	rm -f "$out/probe"
	return $rc
}

command -v clang >/dev/null 2>&1 || install clang
if ! have_libfuzzer; then
	# Debian ships libFuzzer in libclang-rt-N-dev, N = clang's major version.
	major=$(clang -dumpversion | cut -d. -f1)
	install "libclang-rt-$major-dev"
	if ! have_libfuzzer; then
		say "clang -fsanitize=fuzzer still does not link; install libFuzzer for clang $major"
		exit 1
	fi
fi

set -e
mkdir -p "$out/corpus" "$out/crashes"
clang -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I. \
	-Wall -Wextra -Wpedantic -Wformat=2 -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	tests/fuzz/codec_fuzz.c codec/codec.c -o "$out/codec_fuzz"
cp tests/fuzz/corpus/* "$out/corpus/"
set +e

say "fuzzing for ${seconds}s; corpus in $out/corpus, log in $out/fuzz.log"
"$out/codec_fuzz" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$out/crashes/" "$out/corpus" 2>"$out/fuzz.log"
rc=$?
# libFuzzer's last status line ("#N DONE cov: ... exec/s: ...") and stats.
grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$out/fuzz.log" | tail -n 1
grep '^stat::' "$out/fuzz.log"
if [ $rc -ne 0 ]; then
	input=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$out/fuzz.log" | tail -n 1)
	say "FAILED (libFuzzer exit $rc); see $out/fuzz.log"
	grep -E 'codec_fuzz: .*check failed|^SUMMARY: |runtime error' "$out/fuzz.log" | head -n 3 >&2
	if [ -n "$input" ]; then
		say "crashing input: $input"
		say "replay it with: make SAN=address build/address/codec_replay && build/address/codec_replay $input"
		say "after fixing, add it to tests/fuzz/corpus/ so 'make unit' keeps checking it"
	fi
	exit 1
fi
say "no crash in ${seconds}s"
