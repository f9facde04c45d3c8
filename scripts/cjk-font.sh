#!/usr/bin/env bash
# The Chinese figures need Noto Sans CJK (Debian/Ubuntu: fonts-noto-cjk). Installed here when run as
# root; otherwise a hint, and the build itself stops with one clear error if it needs the font.
set -euo pipefail
if fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null
else
  echo "The Chinese figures need the Noto Sans CJK font:" >&2
  echo "  sudo apt-get install -y fonts-noto-cjk   (Homebrew: brew install --cask font-noto-sans-cjk)" >&2
fi
