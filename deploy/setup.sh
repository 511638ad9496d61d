#!/usr/bin/env bash
# Installs what zhifa needs on a Debian machine; safe to run again (each step
# is skipped when its result is already there).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libreoffice-writer-nogui python3-uno python3-venv fonts-noto-cjk
                 fonts-arphic-ukai fonts-arphic-uming fonts-babelstone-han poppler-utils fontconfig chromium)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  rm -f .venv/.installed-*; touch "$stamp"
fi

# unoserver's server side must import LibreOffice's `uno`, which only the
# system Python (python3-uno) has; the service talks to it over XML-RPC.
if [ ! -x .venv-uno/bin/unoserver ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv-uno
  .venv-uno/bin/pip install -q 'unoserver>=3.0'
fi

# Chinese font aliases and single-face Simplified Chinese font files.
.venv/bin/zhifa fonts
echo "setup: done"
