#!/bin/sh
# deps.sh: makes sure raftlab's build dependencies are installed: a C compiler,
# make, pkg-config and CUnit (libcunit1-dev). Installs what is missing with
# apt-get (through sudo when not root); otherwise says exactly what to install.
# With --check, also what `make check` needs besides: python3, which checks
# the Gradescope results against their schema, Chromium, which loads
# lincheck's HTML page headless, and clang-format, which checks the house
# style.
set -u

missing=""
if [ "${1:-}" = --check ]; then
	command -v python3 >/dev/null 2>&1 || missing="$missing python3"
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
		command -v google-chrome >/dev/null 2>&1 || missing="$missing chromium"
	# (the repository's make check checks the house style; the handout's not)
	if [ -d "$(dirname "$0")/../raft/skeleton" ]; then
		command -v clang-format >/dev/null 2>&1 || missing="$missing clang-format"
	fi
elif [ $# -gt 0 ]; then
	printf 'deps.sh: unknown option %s (the only one is --check)\n' "$1" >&2
	exit 2
fi
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if ! pkg-config --exists cunit 2>/dev/null && [ ! -f /usr/include/CUnit/CUnit.h ]; then
	missing="$missing libcunit1-dev"
fi
[ -z "$missing" ] && exit 0

say() { printf 'raftlab: %s\n' "$*" >&2; }
if ! command -v apt-get >/dev/null 2>&1; then
	say "missing:$missing. Install them with your package manager (CUnit is 'cunit' / 'CUnit-devel' outside Debian), then run make again."
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	say "missing:$missing. Run as root: apt-get install$missing"
	exit 1
fi
say "installing$missing with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing; } >/dev/null; then
	say "could not install$missing. Run: ${sudo:+sudo }apt-get install$missing"
	exit 1
fi
exit 0
