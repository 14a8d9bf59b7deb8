#!/bin/sh
# test_install.sh - the install story, tested (run by `make test` through run_tests.sh):
#  1. `make install` into a temporary prefix;
#  2. examples/ch10_api.c built against the INSTALLED library with pkg-config only (no path into
#     the source tree), run, and its check lines compared with the in-tree build's;
#  3. every function declared in the installed headers appears in the API reference
#     (docs/course/10-api.md), and so does every beaa_status code.
# Environment: BUILD (build folder, default build), CC, MAKE. Prints one line per step and
# "test_install: ok"; exits non-zero on the first failure, saying what failed.
set -u
BUILD=${BUILD:-build}
CC=${CC:-cc}
MAKE=${MAKE:-make}
DOC=docs/course/10-api.md
tmp=$(mktemp -d /tmp/beaa_install_XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
die() { echo "test_install: FAILED: $*"; exit 1; }

# 1. install
$MAKE --no-print-directory -s install PREFIX="$tmp/prefix" BUILD="$BUILD" CC="$CC" \
    >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; die "make install PREFIX=$tmp/prefix"; }
[ -f "$tmp/prefix/lib/libbeaa.a" ] && [ -f "$tmp/prefix/lib/pkgconfig/beaa.pc" ] ||
    die "make install did not install lib/libbeaa.a and lib/pkgconfig/beaa.pc"
nh=$(find "$tmp/prefix/include/beaa" -name '*.h' | wc -l)
echo "test_install: installed libbeaa.a, beaa.pc and $nh headers into a temporary prefix"

# 2. an example against the installed library, through pkg-config
flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs --static beaa) ||
    die "pkg-config --cflags --libs --static beaa"
cp examples/ch10_api.c "$tmp/" || die "copy examples/ch10_api.c"
# shellcheck disable=SC2086 # the flags are words
(cd "$tmp" && $CC -std=c11 -O2 -Wall -Wextra -Werror ch10_api.c $flags -o ch10_api) \
    >"$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; die "$CC ch10_api.c \$(pkg-config --cflags --libs --static beaa)"; }
(cd "$tmp" && ./ch10_api) >"$tmp/installed.out" 2>&1 || { cat "$tmp/installed.out"; die "the installed build of ch10_api failed"; }
"$BUILD/examples/ch10_api" >"$tmp/tree.out" 2>&1 || { cat "$tmp/tree.out"; die "$BUILD/examples/ch10_api failed"; }
grep '^check: ' "$tmp/installed.out" >"$tmp/installed.checks"
grep '^check: ' "$tmp/tree.out" >"$tmp/tree.checks"
[ -s "$tmp/tree.checks" ] || die "ch10_api printed no check lines"
cmp -s "$tmp/installed.checks" "$tmp/tree.checks" ||
    { diff "$tmp/tree.checks" "$tmp/installed.checks"; die "installed and in-tree builds of ch10_api differ"; }
echo "test_install: ch10_api built with pkg-config against the installed library: $(wc -l <"$tmp/tree.checks") check lines equal to the in-tree build's"

# 3. the API reference covers every public function and status code. Function names: comments
# and preprocessor lines removed, brace bodies emptied, the text cut at ';' and '{}'; a piece
# with a '(' that is not a typedef declares the identifier right before its first '('.
[ -f "$DOC" ] || die "$DOC missing"
find "$tmp/prefix/include/beaa" -name '*.h' | sort >"$tmp/headers"
while read -r h; do
    awk '
    { text = text "\n" $0 }
    END {
        # comments
        out = ""
        while ((i = index(text, "/*")) > 0) {
            out = out substr(text, 1, i - 1) " "
            rest = substr(text, i + 2)
            j = index(rest, "*/")
            text = j > 0 ? substr(rest, j + 2) : ""
        }
        text = out text
        n = split(text, lines, "\n")
        text = ""; cont = 0
        for (k = 1; k <= n; k++) {
            line = lines[k]
            sub(/\/\/.*/, "", line)
            if (cont || line ~ /^[ \t]*#/) { cont = (line ~ /\\[ \t]*$/); continue }
            text = text " " line
        }
        while (gsub(/\{[^{}]*\}/, "@", text) > 0) {}
        gsub(/@/, ";", text)
        m = split(text, piece, ";")
        for (k = 1; k <= m; k++) {
            p = piece[k]
            if (p ~ /^[ \t]*typedef[ \t]/ || index(p, "(") == 0) continue
            if (match(p, /[A-Za-z_][A-Za-z_0-9]*[ \t]*\(/)) {
                name = substr(p, RSTART, RLENGTH)
                sub(/[ \t]*\($/, "", name)
                print name
            }
        }
    }' "$h"
done <"$tmp/headers" | sort -u >"$tmp/functions"
nf=$(wc -l <"$tmp/functions")
[ "$nf" -gt 100 ] || die "only $nf functions found in the installed headers (the scan is broken)"
missing=""
while read -r f; do
    grep -qw -- "$f" "$DOC" || missing="$missing $f"
done <"$tmp/functions"
[ -z "$missing" ] || die "functions declared in the installed headers but not in $DOC:$missing"
status_h="$tmp/prefix/include/beaa/lib/status.h"
codes=$(sed -n '/typedef enum beaa_status/,/} beaa_status;/p' "$status_h" |
        grep -o 'BEAA_[A-Z_0-9]*' | grep -v '^BEAA_STATUS_COUNT$')
nc=0
for c in $codes; do
    grep -qw -- "$c" "$DOC" || missing="$missing $c"
    nc=$((nc + 1))
done
[ -z "$missing" ] || die "status codes not in $DOC:$missing"
echo "test_install: all $nf functions of the installed headers and all $nc status codes are in $DOC"
echo "test_install: ok"
