#!/usr/bin/env bash
# Installs what zhifa needs on a Debian machine; safe to run again (each step
# is skipped when its result is already there).
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the pages' browser tests; clamav-daemon: the archive's malware check
# (its tests start their own clamd with a one-signature database); openssl (3.0+): the archive's
# SM2/SM3 seal signs and checks SM2 with it (services/archive/gm_seal.py).
DEBIAN_PACKAGES=(libreoffice-writer-nogui python3-uno python3-venv fonts-noto-cjk
                 fonts-arphic-ukai fonts-arphic-uming fonts-babelstone-han poppler-utils fontconfig chromium
                 clamav-daemon openssl)
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

# The PDF pool's LibreOffice workers (services/generator/soffice_worker.py)
# run with Debian's python3, the only one with LibreOffice's `uno`.
/usr/bin/python3 -c 'import uno' || { echo "setup: python3-uno is missing" >&2; exit 1; }

# Chinese font aliases and single-face Simplified Chinese font files.
.venv/bin/zhifa fonts
echo "setup: done"
