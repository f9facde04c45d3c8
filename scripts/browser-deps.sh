#!/usr/bin/env bash
# Debian's Chromium (Playwright cannot download its own browser here) and a CJK font.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
else
  echo "Browser tests need Debian's chromium and fonts-noto-cjk:" >&2
  echo "  sudo apt-get install -y chromium chromium-driver fonts-noto-cjk" >&2
  exit 1
fi
