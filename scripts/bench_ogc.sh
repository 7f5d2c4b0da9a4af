#!/usr/bin/env bash
# Set up and run the OGC API items benchmark: ours against pygeoapi (GeoJSON file provider, and PostgreSQL
# provider on PostGIS), with wrk on loopback. Installs Debian's wrk and postgresql-15-postgis-3 when root,
# pygeoapi into .venv-bench. Arguments go to scripts/bench_ogc.py (e.g. --sizes 100000 --duration 10;
# --baseline DIR also serves an earlier checkout, e.g. `git worktree add --detach /tmp/base HEAD~1`, for the plain
# pages; --skip-pygeoapi leaves pygeoapi out).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
need=()
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "bench: missing ${need[*]}; run as root or apt-get install them" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x .venv-bench/bin/python ] || python3 -m venv .venv-bench
stamp=".venv-bench/.installed-$(sha256sum requirements-bench.txt | cut -c1-16)"
[ -f "$stamp" ] || { .venv-bench/bin/python -m pip install -q --disable-pip-version-check -r requirements-bench.txt; touch "$stamp"; }
exec .venv/bin/python scripts/bench_ogc.py "$@"
