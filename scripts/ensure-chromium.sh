#!/usr/bin/env bash
# Prints the path of a Chromium for the browser test, installing Debian's `chromium` package when there is none
# (as root, or with passwordless sudo). Run by tests/integration/test_swagger.py.
set -euo pipefail
for name in chromium chromium-browser google-chrome; do
  if path=$(command -v "$name"); then echo "$path"; exit 0; fi
done
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "no Chromium found, and no root to install it: apt-get install chromium" >&2; exit 1
fi
command -v apt-get >/dev/null || { echo "no Chromium found and no apt-get: install Chromium" >&2; exit 1; }
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
command -v chromium
