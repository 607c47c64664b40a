#!/usr/bin/env bash
# Makes sure PostgreSQL 15 + PostGIS and Redis are reachable on this machine.
# Used by .ci/run, `npm start` and `npm test`. Installs PostGIS with apt-get when missing
# and starts a stopped service; where it cannot (not root, not Debian) it says what to run.
set -u
PGHOST_=${PGHOST:-127.0.0.1}; PGPORT_=${PGPORT:-5432}
REDIS_HOST_=${REDIS_HOST:-127.0.0.1}; REDIS_PORT_=${REDIS_PORT:-6379}
can_admin() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
hint() { echo "dotation: $1 — run 'docker compose up -d postgis redis' (or install it yourself) and try again." >&2; }

pg_up() { pg_isready -q -h "$PGHOST_" -p "$PGPORT_" 2>/dev/null; }
if ! pg_up; then
  if can_admin && command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "dotation: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort | tail -1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || { hint "PostgreSQL is not reachable on $PGHOST_:$PGPORT_"; exit 1; }
fi

postgis_ok() { psql -h "$PGHOST_" -p "$PGPORT_" -U "${PGUSER:-postgres}" -d postgres -tAc \
  "select 1 from pg_available_extensions where name='postgis'" 2>/dev/null | grep -q 1; }
if ! postgis_ok; then
  if can_admin; then
    ver=$(ls /etc/postgresql 2>/dev/null | sort | tail -1); ver=${ver:-15}
    echo "dotation: installing PostGIS for PostgreSQL $ver (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$ver-postgis-3" >/dev/null \
      || { hint "apt-get could not install postgresql-$ver-postgis-3"; exit 1; }
  fi
  postgis_ok || { hint "PostGIS is not installed for this PostgreSQL"; exit 1; }
fi

redis_up() { (exec 3<>"/dev/tcp/$REDIS_HOST_/$REDIS_PORT_") 2>/dev/null; }
if ! redis_up; then
  if can_admin && command -v redis-server >/dev/null 2>&1; then
    echo "dotation: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT_" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  fi
  redis_up || { hint "Redis is not reachable on $REDIS_HOST_:$REDIS_PORT_"; exit 1; }
fi

# Geography: ogr2ogr (GeoPackage/FlatGeobuf/Shapefile) and 7z (IGN archives); optional, installed when root.
if ! command -v ogr2ogr >/dev/null 2>&1 || ! command -v 7z >/dev/null 2>&1; then
  if can_admin; then
    echo "dotation: installing gdal-bin and p7zip-full (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin p7zip-full >/dev/null \
      || echo "dotation: apt-get could not install gdal-bin p7zip-full (GeoPackage and .7z inputs unavailable)" >&2
  fi
fi
# Browser tests (test/browser.test.ts): Chromium from Debian, driven by playwright-core (nothing downloaded by npm).
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if can_admin; then
    echo "dotation: installing chromium (apt-get) for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || echo "dotation: apt-get could not install chromium (browser tests will fail under CI, be skipped elsewhere)" >&2
  fi
fi
exit 0
