#!/usr/bin/env bash
# Client tests against a running server that has quiver installed:
#  - Node.js: the `pg` and pgvector packages (pinned in package-lock.json), node's test runner;
#  - Python, from Debian's packages: psycopg 3, asyncpg and SQLAlchemy (python/test_clients.py).
# Connection settings come from PGHOST, PGPORT and PGUSER (a superuser: each suite creates and
# drops its own databases). Prints TAP from both, then the combined "# tests N", "# pass N",
# "# fail N"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error --engine-strict=false || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node --test --test-reporter=tap *.test.mjs >"$tmp/node.tap" 2>&1
node_rc=$?
/usr/bin/python3 python/run_tests.py >"$tmp/python.tap" 2>&1
python_rc=$?

total=0 pass=0 fail=0
for f in "$tmp/node.tap" "$tmp/python.tap"; do
    grep -vE '^# (tests|pass|fail) [0-9]+$' "$f"
    t=$(sed -n 's/^# tests \([0-9][0-9]*\)$/\1/p' "$f" | tail -n 1)
    p=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$f" | tail -n 1)
    x=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$f" | tail -n 1)
    total=$((total + ${t:-0})) pass=$((pass + ${p:-0})) fail=$((fail + ${x:-1}))
done
echo "# tests $total"
echo "# pass $pass"
echo "# fail $fail"
[ "$node_rc" = 0 ] && [ "$python_rc" = 0 ] && [ "$fail" = 0 ]
