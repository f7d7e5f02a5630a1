# lib.sh - what kasou's guest test scripts share (sourced, not run).
#
# Sets $tmp (a scratch directory removed on exit) and counts the cases:
# ok NAME, not_ok NAME [DETAIL...] print TAP-like lines; finish prints
# "N passed, M failed" and exits non-zero if anything failed.
# TMP_PREFIX: the prefix of the scratch directory's name.

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/${TMP_PREFIX:-kasou}.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    shift
    for line in "$@"; do
        echo "#   $line"
    done
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# deb_fetch DIR PKG: unpack Debian package PKG into DIR/PKG once (apt-get
# download: nothing is installed); prints why it failed.
deb_fetch() {
    [ -f "$1/$2/.done" ] && return 0
    rm -rf "${1:?}/$2" && mkdir -p "$1/$2" || return 1
    (cd "$1/$2" && apt-get download "$2") >"$1/$2.log" 2>&1 ||
        { tail -n 3 "$1/$2.log"; echo "apt-get download $2 failed"; return 1; }
    dpkg-deb -x "$1/$2"/*.deb "$1/$2" || { echo "cannot unpack $2"; return 1; }
    rm -f "$1/$2"/*.deb "$1/$2.log"
    touch "$1/$2/.done"
}

# need TOOL...: each is installed, or say which is not.
need() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || { echo "$t is not installed"; return 1; }
    done
}

# type_into OUT MARKER TEXT CMD...: run CMD with its standard output in
# OUT and its standard input on a pipe; once OUT shows MARKER, wait two
# seconds and type TEXT (plus a newline) into it.  Sets $status.
type_into() {
    ti_out=$1 ti_marker=$2 ti_text=$3
    shift 3
    rm -f "$tmp/type_into.in"
    mkfifo "$tmp/type_into.in" || return 1
    "$@" <"$tmp/type_into.in" >"$ti_out" &
    ti_pid=$!
    exec 3>"$tmp/type_into.in"
    while kill -0 "$ti_pid" 2>/dev/null && ! grep -aq "$ti_marker" "$ti_out"; do
        sleep 1
    done
    sleep 2
    # (in a subshell: if CMD has already ended, SIGPIPE ends only that)
    (printf '%s\n' "$ti_text" >&3) 2>/dev/null
    wait "$ti_pid"
    status=$?
    exec 3>&-
}
