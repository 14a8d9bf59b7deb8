#!/bin/sh
# deps.sh - make sure the Debian packages libbeaa needs are present.
# As root, missing ones are installed (apt-get update first); otherwise the exact command is
# printed and the script fails. Quiet when everything is there.
PKGS="build-essential libopenblas-dev libgmp-dev check libsubunit-dev pkg-config zlib1g-dev libomp-dev dataset-fashion-mnist gnuplot-nox openmpi-bin libopenmpi-dev"
# With arguments, only those packages are checked (the optional steps: `make fuzz` needs clang
# and its libFuzzer runtime, `make valgrind` / `make ctgrind` need valgrind).
[ $# -gt 0 ] && PKGS="$*"
missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
    case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing missing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 || {
        echo "deps: apt-get failed; run: apt-get update && apt-get install -y$missing" >&2; exit 1; }
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root: apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
