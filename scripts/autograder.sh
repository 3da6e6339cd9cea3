#!/bin/sh
# autograder.sh: builds build/autograder.zip, the zip Gradescope's
# autograder takes: setup.sh (installs the dependencies on Gradescope's
# Ubuntu image and builds the handout), run_autograder (grades one
# submission), autograder.conf (the parts and limits below) and the handout.
# Run through `make autograder`.
#
#   scripts/autograder.sh PARTS RUNS TEST_LIMIT LAB_LIMIT
set -eu
[ $# -eq 4 ] || { echo "usage: scripts/autograder.sh PARTS RUNS TEST_LIMIT LAB_LIMIT" >&2; exit 2; }
parts=$1 runs=$2 test_limit=$3 lab_limit=$4
for p in $parts; do
	case $p in 3[A-E] | 4[AB]) ;; *) echo "autograder.sh: unknown part '$p' (parts are 3A-3E, 4A, 4B)" >&2; exit 2 ;; esac
done
[ -n "$parts" ] || { echo "autograder.sh: no parts to grade" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "autograder.sh: python3 is needed to write the zip (apt-get install python3)" >&2; exit 2; }
cd "$(dirname "$0")/.."

out=build/autograder
rm -rf "$out" build/autograder.zip
mkdir -p "$out"
scripts/handout.sh autograder-handout >/dev/null
mv autograder-handout "$out/handout"
rm -f autograder-handout.tar.gz
cp scripts/autograder/setup.sh scripts/autograder/run_autograder "$out/"
cat >"$out/autograder.conf" <<CONF
# What run_autograder grades (from make autograder's settings).
PARTS="$parts"
RUNS=$runs
TEST_LIMIT=$test_limit
LAB_LIMIT=$lab_limit
CONF

# The zip, with each file's permissions (run_autograder must stay executable).
python3 - "$out" build/autograder.zip <<'PY'
import os, sys, zipfile
top, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, top))
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
PY
echo "autograder: build/autograder.zip (parts $parts, $runs run(s) each, $test_limit s a test, $lab_limit s a lab)"
