#!/usr/bin/env bash
# Installs axe-core and puppeteer-core into .tools/axe, idempotently, so that tests can run
# axe on an HTML page inside Debian's headless chromium (axe needs a real DOM with JS).
set -euo pipefail
cd "$(dirname "$0")/../../.."

axe_version=4.14.1
puppeteer_version=24.43.1  # the 25 series needs node >= 22; Debian bookworm's npm setup has 20
prefix=.tools/axe
marker="$prefix/.installed-$axe_version-$puppeteer_version"

[ -e "$marker" ] && [ -f "$prefix/node_modules/axe-core/axe.min.js" ] && exit 0

if ! command -v npm >/dev/null; then
  echo "setup: installing Node.js and npm from Debian" >&2
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >&2
fi
echo "setup: installing axe-core@$axe_version and puppeteer-core@$puppeteer_version into $prefix" >&2
mkdir -p "$prefix"
PUPPETEER_SKIP_DOWNLOAD=true npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
  "axe-core@$axe_version" "puppeteer-core@$puppeteer_version" >&2
touch "$marker"
