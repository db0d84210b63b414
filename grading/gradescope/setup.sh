#!/usr/bin/env bash
# Gradescope autograder setup: runs once when the autograder image is built.
# The bundle is this repository (zipped) with LAB set in grading/gradescope/lab; Gradescope unpacks it into
# /autograder/source. This installs the Debian packages, builds socklab and the reference programs.
set -euo pipefail
SOURCE="${AUTOGRADER_ROOT:-/autograder}/source"
cd "$SOURCE"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -eq 0 ] && ! command -v make >/dev/null 2>&1; then
  apt-get update && apt-get install -y --no-install-recommends make
fi
make   # installs what is missing (apt-get), then builds build/bin/socklab and the reference programs
