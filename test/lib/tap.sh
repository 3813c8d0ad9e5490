#!/usr/bin/env bash
# Runs quiver's TAP tests (test/t/*.pl, PostgreSQL::Test::Cluster) and prints prove's output.
# PostgreSQL's TAP framework runs initdb and the servers as the invoking user, and the server
# refuses root, so when called as root this copies the tree into a temporary directory owned by
# the `postgres` OS user and runs `make installcheck REGRESS=` (the TAP part only) there as
# `postgres`. The extension must already be built and installed (`make install`) for PG_CONFIG.
#   PG_CONFIG=/path/to/pg_config bash test/lib/tap.sh [PROVE_TESTS=...]
# Exits with prove's status. Set QUIVER_TAP_KEEP=1 to keep the copy (logs in tmp_check/log).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

if ! compgen -G "$top/test/t/*.pl" >/dev/null; then
    echo "no TAP tests in $top/test/t"
    exit 0
fi
if ! perl -MIPC::Run -e 1 2>/dev/null; then
    echo "IPC::Run is missing (apt-get install libipc-run-perl)"
    exit 1
fi

copy=$(mktemp -d /tmp/quiver-tap.XXXXXX)
cleanup() {
    if [ "${QUIVER_TAP_KEEP:-0}" = 1 ]; then
        echo "TAP tree kept in $copy"
    else
        rm -rf "$copy"
    fi
}
trap cleanup EXIT

# Sources and tests only: build products and other layers' state stay behind.
tar -C "$top" --exclude=.git --exclude=./build --exclude=./build-asan --exclude=./results \
    --exclude=./tmp_check --exclude=./test/clients/node_modules --exclude=./test/bench/data \
    --exclude=./test/bench/results --exclude='*.o' --exclude='*.so' \
    --exclude='*.bc' -cf - . | tar -C "$copy" -xf -
chmod 755 "$copy"

run_as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$copy"
        # runuser resets the environment; pass on what the tests need.
        runuser -u postgres -- env HOME="$copy" PATH="$PATH" LANG=C.UTF-8 \
            ${PROVE_FLAGS:+PROVE_FLAGS="$PROVE_FLAGS"} "$@"
    else
        "$@"
    fi
}

# `make installcheck REGRESS= ISOLATION=` skips pg_regress and the isolation tests and runs
# prove on PROVE_TESTS (see Makefile).
cd "$copy" && run_as_postgres make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS= ISOLATION= "$@" 2>&1
status=$?
if [ "$status" != 0 ] && [ -d "$copy/tmp_check/log" ]; then
    # Show the end of each failing test's log so a failure can be diagnosed from CI output.
    for log in "$copy"/tmp_check/log/regress_log_*; do
        [ -f "$log" ] || continue
        if grep -qE 'not ok|Bail out|died|timed out|Looks like' "$log"; then
            echo "---- tail of $(basename "$log")"
            tail -n 60 "$log"
        fi
    done
    # A server that stopped on its own (a standby's replay check, a crash) says why here.
    for log in "$copy"/tmp_check/log/*.log; do
        [ -f "$log" ] || continue
        if grep -qE 'PANIC|FATAL:  inconsistent|TRAP:|terminated by signal' "$log"; then
            echo "---- $(basename "$log"): PANIC, failed checks and crashes"
            grep -E -B2 -A8 'PANIC|FATAL:  inconsistent|TRAP:|terminated by signal' "$log" | head -n 60
        fi
    done
fi
exit "$status"
