#!/usr/bin/env bash
# Build the demo database, write its HTML report, and render the report with headless
# Chromium into docs/report.png (the screenshot docs/cli.md shows).
#
#   scripts/screenshot_report.sh            # writes docs/report.png
#   LOCALE=zh OUT=docs/report-zh.png scripts/screenshot_report.sh
#
# Needs Chromium (Debian: apt-get install -y chromium) and, for Chinese group names, a
# CJK font (Debian: apt-get install -y fonts-wqy-microhei). CI does not run this.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
groupops="${GROUPOPS:-$root/.venv/bin/groupops}"
out="${OUT:-$root/docs/report.png}"
locale="${LOCALE:-en}"
chromium="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$chromium" ]]; then
    echo "screenshot_report.sh: Chromium not found (Debian: apt-get install -y chromium)" >&2
    exit 2
fi

work="$(mktemp -d)"
profile="$(mktemp -d)"
trap 'rm -rf "$work" "$profile"' EXIT

cd "$work"
"$groupops" demo --db demo.db > /dev/null
"$groupops" report --db demo.db --rules demo.yaml --out report.html --locale "$locale" \
    --title "groupops demo · report"

mkdir -p "$(dirname "$out")"
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$out" --window-size=1280,2000 "file://$work/report.html" 2> "$work/chromium.log" \
    || { cat "$work/chromium.log" >&2; exit 1; }
echo "wrote $out"
