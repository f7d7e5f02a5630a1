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
