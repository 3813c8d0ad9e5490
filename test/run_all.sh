#!/usr/bin/env bash
# Runs every test layer of quiver on this machine and ends with one line "N passed, N failed".
# Layers: core unit tests (Release, then ASan+UBSan), the extension build + install, pg_regress
# and isolation tests, the integration tests and client tests against a throwaway cluster, and
# the TAP tests (their own clusters).
# Set QUIVER_SKIP_DEPS=1 to skip the apt-get step (dependencies already installed).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

passed=0
failed=0
layer_result() {  # name passed failed
    printf '== %-28s %4d passed, %d failed\n' "$1" "$2" "$3"
    passed=$((passed + $2))
    failed=$((failed + $3))
}
fail_layer() {  # name: a layer that could not even run counts as one failure
    layer_result "$1" 0 1
}

if [ "${QUIVER_SKIP_DEPS:-0}" != 1 ]; then
    bash .ci/install-deps || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }
fi

work=$(mktemp -d /tmp/quiver-test.XXXXXX)
chmod 755 "$work"
source test/lib/cluster.sh
cleanup() { cluster_stop "$work/data"; rm -rf "$work/data"; }
trap cleanup EXIT

# Boost.Test (--report_level=short) prints "N test cases out of M passed" and/or "... failed"
boost_counts() {  # logfile -> "passed failed"
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = re.search(r"(\d+) test cases? out of (\d+) passed", text)
failed = re.search(r"(\d+) test cases? out of (\d+) failed", text)
if passed or failed:
    p = int(passed.group(1)) if passed else 0
    f = int(failed.group(1)) if failed else 0
    print(p, f)
else:
    print(0, 1)  # the runner crashed or printed no summary
PY
}

tap_counts() {  # logfile rc -> "passed failed" (prove's assertions; a file that died counts as 1 failure)
    python3 - "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
rc = int(sys.argv[2])
m = re.search(r"^Files=(\d+), Tests=(\d+)", text, re.M)
if not m:
    print(0, 1); sys.exit()
failed_asserts = died = 0
for w, f in re.findall(r"\(Wstat: (\d+)(?: \(exited \d+\))? Tests: \d+ Failed: (\d+)\)", text):
    failed_asserts += int(f); died += int(f) == 0 and int(w) != 0  # Wstat 0: listed for TODOs only
failed = failed_asserts + died
if rc != 0 and failed == 0: failed = 1
print(int(m.group(2)) - failed_asserts, failed)
PY
}

run_unit_layer() {  # name build_dir extra_cmake_args...
    local name=$1 dir=$2; shift 2
    local log="$work/$name.log"
    if cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$log" 2>&1 &&
        cmake --build "$dir" -j"$jobs" >>"$log" 2>&1; then
        "$dir/quiver_unit" --report_level=short >>"$log" 2>&1
        tail -n 3 "$log"
        read -r p f < <(boost_counts "$log")
        layer_result "$name" "$p" "$f"
    else
        tail -n 40 "$log"
        fail_layer "$name"
    fi
}

echo "### core unit tests"
run_unit_layer unit build/release
echo "### core unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
run_unit_layer unit-asan-ubsan build/asan -DQUIVER_SANITIZE=ON

echo "### extension build and install"
if make -j"$jobs" >"$work/make.log" 2>&1 && make install >>"$work/make.log" 2>&1; then
    grep -E 'warning:' "$work/make.log" | head -20
    layer_result "build+install" 1 0
    built=1
else
    tail -n 40 "$work/make.log"
    fail_layer "build+install"
    built=0
fi

if [ "$built" = 1 ] && cluster_start "$work/data" &&
    # Tests expect VACUUM to remove what they deleted: no autovacuum ANALYZE holding a snapshot.
    psql -X -q -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null; then
    echo "### pg_regress and isolation tests (cluster on port $PGPORT)"
    rm -rf results regression.diffs regression.out output_iso
    make installcheck TAP_TESTS= >"$work/regress.log" 2>&1  # TAP runs as its own layer below
    regress_rc=$?
    grep -E '^(test|ok|not ok| +[a-z_0-9]+ +\.\.\.)' "$work/regress.log" | sed 's/^/  /' | head -100
    p=$(grep -cE '\.\.\. ok|^ok ' "$work/regress.log")
    f=$(grep -cE '\.\.\. FAILED|^not ok ' "$work/regress.log")
    [ -f regression.diffs ] && head -n 80 regression.diffs
    [ -f output_iso/regression.diffs ] && head -n 80 output_iso/regression.diffs
    if [ "$regress_rc" != 0 ] && [ "$f" = 0 ]; then
        tail -n 20 "$work/regress.log"; f=1  # failed before or outside any single test
    fi
    layer_result "pg_regress+isolation" "$p" "$f"

    echo "### integration tests"
    ip=0; if_=0
    for t in test/integration/test_*.py; do
        [ -e "$t" ] || continue
        if /usr/bin/python3 "$t"; then ip=$((ip + 1)); else if_=$((if_ + 1)); fi
    done
    layer_result "integration" "$ip" "$if_"

    echo "### client tests (pg + pgvector from npm)"
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; } \
            >"$work/node-install.log" 2>&1 || tail -n 20 "$work/node-install.log"
    fi
    bash test/clients/run.sh >"$work/clients.log" 2>&1
    clients_rc=$?
    grep -E '^not ok |^# (tests|pass|fail) ' "$work/clients.log" | sed 's/^/  /'
    p=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$work/clients.log" | tail -n 1)
    f=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$work/clients.log" | tail -n 1)
    p=${p:-0}; f=${f:-0}
    if [ "$clients_rc" != 0 ] && [ "$f" = 0 ]; then
        tail -n 30 "$work/clients.log"; f=1  # npm ci or node failed before any test ran
    fi
    layer_result "clients" "$p" "$f"
else
    [ "$built" = 1 ] && echo "could not start a throwaway cluster"
    fail_layer "pg_regress"
    fail_layer "clients"
fi

if [ "$built" = 1 ] && ls test/t/*.pl >/dev/null 2>&1; then
    echo "### TAP tests (standby replay, crashes, concurrency, index checker; as the postgres user)"
    bash test/lib/tap.sh >"$work/tap.log" 2>&1
    tap_rc=$?
    grep -E '^test/t/|^Failed [0-9]+/|^Files=|^Result:' "$work/tap.log" | sed 's/^/  /'
    read -r p f < <(tap_counts "$work/tap.log" "$tap_rc")
    if [ "$f" != 0 ]; then
        grep -E '#   Failed test|^# (psql|DETAIL)|ERROR' "$work/tap.log" | head -40 | sed 's/^/  /'
        sed -n '/^---- /,$p' "$work/tap.log" | head -n 200 | sed 's/^/  /'  # failing tests' logs
    fi
    layer_result "tap" "$p" "$f"
elif [ "$built" != 1 ]; then
    fail_layer "tap"
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
