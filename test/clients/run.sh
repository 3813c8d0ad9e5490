#!/usr/bin/env bash
# Client tests: the `pg` driver and pgvector's Node.js package (pinned in package-lock.json)
# against a running server that has quiver installed. Connection settings come from PGHOST,
# PGPORT and PGUSER (a superuser: each test file creates and drops its own database).
# Prints node's TAP output, ending with "# tests N", "# pass N", "# fail N"; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error --engine-strict=false || exit 1
node --test --test-reporter=tap *.test.mjs
