#!/usr/bin/env bash
# Makes a clone ready to run (issue 13): what `npm test` and `npm run demo` run first, so that a fresh
# clone needs nothing else. Each step only when needed:
#   - the system packages (Dovecot, openssl, Chromium, …) through scripts/install-system-deps.sh;
#   - the npm packages with `npm ci` (exactly the lockfile) when node_modules is missing or older
#     than the lockfile;
# then the build (TypeScript and the web app) is left to the command itself (`npm run build`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
