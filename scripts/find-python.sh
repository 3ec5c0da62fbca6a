#!/usr/bin/env bash
# Prints the path of a Python 3.13 interpreter, or explains what is missing.
# pyenv shims answer "command not found" when 3.13 is not the selected version, so every
# candidate is executed, not just looked up.
set -u
candidates=("${PYTHON:-}" python3.13 "$HOME/.pyenv/versions/3.13"*/bin/python3.13 \
  /usr/local/bin/python3.13 /usr/bin/python3.13 /opt/homebrew/bin/python3.13 python3)
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.|$)'); do
    candidates+=("$(pyenv root)/versions/$v/bin/python3.13")
  done
fi
for c in "${candidates[@]}"; do
  [ -n "$c" ] || continue
  if out=$("$c" -c 'import sys; print(sys.executable) if sys.version_info[:2] == (3, 13) else sys.exit(1)' 2>/dev/null); then
    echo "$out"; exit 0
  fi
done
echo "Python 3.13 not found. Install it (e.g. 'pyenv install 3.13' or your OS package) or set PYTHON=/path/to/python3.13." >&2
exit 1
