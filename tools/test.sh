#!/usr/bin/env bash
# The whole suite: infrastructure, build and type-check, lint, unit and integration tests.
# Ends with one "N passed, N failed" line summing every jest run.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false

step() { printf '\n==> %s\n' "$*"; }

step "infrastructure (PostgreSQL and its read replica, Redis, RabbitMQ, Kafka, PgBouncer)"
tools/infra/infra.sh up --replica

step "build and type-check (tsc -b), and the web console's bundle (vite)"
tsc -b tsconfig.build.json tsconfig.spec.json
npm run build:console --silent

step "lint (eslint, zero warnings) and format (prettier)"
# The module-boundary rule reads Nx's project graph and silently skips itself without one.
nx show projects >/dev/null
eslint . --max-warnings 0
prettier --check . --log-level warn

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
step "unit tests"
jest --selectProjects unit --json --outputFile "$results/unit.json" || status=1
step "integration tests (real servers)"
jest --selectProjects integration --runInBand --json --outputFile "$results/integration.json" || status=1

node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) { failed++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  }
  console.log(`\ntests: ${passed} passed, ${failed} failed`);
' "$results/unit.json" "$results/integration.json"
exit $status
