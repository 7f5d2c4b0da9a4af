#!/usr/bin/env bash
# Install what the project needs: system packages (as root, via apt), a virtualenv with the Python
# requirements, and the front-end assets from the npm registry (npm ci, with package-lock.json); for the
# tests also the linters (ruff from requirements-dev.txt, ESLint from package.json's devDependencies).
# Usage: scripts/setup.sh run|test    Idempotent: a second run with nothing changed does almost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}
PY=${PYTHON:-python3}

apt_needed=()
command -v "$PY" >/dev/null || apt_needed+=(python3)
"$PY" -c 'import ensurepip' 2>/dev/null || apt_needed+=(python3-venv)
command -v npm >/dev/null || apt_needed+=(npm)
# PDF reports (WeasyPrint) need Pango, and Chinese text a CJK font (WenQuanYi Micro Hei, also for the static maps)
ls /usr/lib/*/libpangoft2-1.0.so.0 >/dev/null 2>&1 || apt_needed+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || apt_needed+=(fonts-wqy-microhei)
if [ "$purpose" = test ]; then
  command -v chromium >/dev/null || apt_needed+=(chromium)
  # the store's tests also run on a real PostgreSQL (a throwaway cluster, as the postgres user)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_needed+=(postgresql)
  # the planning checks are compared with PostGIS (tests/test_planning_postgis.py, scripts/bench_planning.py)
  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || apt_needed+=(postgresql-15-postgis-3)
  # shared state between servers (log-in limits) is tested on a real Redis
  command -v redis-server >/dev/null || apt_needed+=(redis-server)
  # Debian's own (older) GDAL reads our downloads and our OGC API back, as GIS offices' QGIS/GDAL would
  command -v ogrinfo >/dev/null || apt_needed+=(gdal-bin)
  # and Debian's QGIS (3.22, its Python bindings: no display needed) reads the OGC API and loads our styles
  /usr/bin/python3 -c 'import qgis.core' 2>/dev/null || apt_needed+=(python3-qgis)
fi
if [ ${#apt_needed[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing system packages: ${apt_needed[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_needed[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${apt_needed[*]}; run: sudo apt-get install ${apt_needed[*]}" >&2
    exit 1
  fi
fi

req=requirements.txt
[ "$purpose" = test ] && req=requirements-dev.txt
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$(cat requirements.txt "$req" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages from $req"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  touch "$stamp"
fi

# run: only the assets the app serves (dependencies); test: also the linter (devDependencies: ESLint)
npm_deps=--omit=dev
[ "$purpose" = test ] && npm_deps=--include=dev
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
   { [ "$purpose" = test ] && [ ! -x node_modules/.bin/eslint ]; }; then
  echo "setup: installing front-end assets (npm ci $npm_deps)"
  npm ci "$npm_deps" --no-audit --no-fund --loglevel=error
fi
