#!/usr/bin/env bash
# Replaces the embedded Redoc bundle with the one from the npm package
# redoc@VERSION (bundles/redoc.standalone.js, its license and the notices of
# what it bundles). Then set RedocVersion in docs.go and run the docs test
# and the browser test (tests/browser), which renders /docs in Chromium.
set -euo pipefail
cd "$(dirname "$0")"
version=${1:?usage: $0 VERSION   (e.g. 2.5.4)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "redoc@$version" >/dev/null && tar xzf redoc-*.tgz)
cp "$tmp/package/bundles/redoc.standalone.js" redoc.standalone.js
cp "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" redoc.standalone.js.LICENSE.txt
cp "$tmp/package/LICENSE" LICENSE.redoc
sha256sum redoc.standalone.js
