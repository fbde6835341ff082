#!/usr/bin/env bash
# Installs DAISY Ace (the EPUB accessibility checker) into .tools/ace, idempotently.
# Puppeteer's own browser download is skipped: the tests drive Debian's chromium instead
# (the network reaches only package registries, so a browser download would fail anyway).
set -euo pipefail
cd "$(dirname "$0")/../../.."

version=1.4.6
prefix=.tools/ace
marker="$prefix/.installed-$version"

[ -e "$marker" ] && [ -x "$prefix/node_modules/.bin/ace-cli" ] && exit 0

if ! command -v npm >/dev/null; then
  echo "setup: installing Node.js and npm from Debian" >&2
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >&2
fi
echo "setup: installing @daisy/ace-cli@$version into $prefix" >&2
mkdir -p "$prefix"
PUPPETEER_SKIP_DOWNLOAD=true npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
  "@daisy/ace-cli@$version" >&2
touch "$marker"
