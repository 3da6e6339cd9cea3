#!/bin/sh
# setup.sh: Gradescope runs this once, as root, when it builds the
# autograder's image (Ubuntu), with the autograder zip unpacked in
# /autograder/source. It installs what raftlab needs and builds the handout
# once, so that grading a submission rebuilds only the student's files.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq gcc make pkg-config libcunit1-dev python3 gdb >/dev/null
cd /autograder/source/handout
make -j"$(nproc)" all
