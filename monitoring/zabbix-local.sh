#!/usr/bin/env bash
# A throw-away Zabbix 6.0 server + frontend/API on loopback, from Debian's packages, with a
# private PostgreSQL cluster: for the monitoring tests and for trying templates before
# production. Needs root (PostgreSQL runs as `postgres` through runuser).
#
#   monitoring/zabbix-local.sh start   # prints ZABBIX_API_URL=..., ZABBIX_SERVER_PORT=..., ZABBIX_SERVER_CONF=...
#   monitoring/zabbix-local.sh status|stop
#   monitoring/zabbix-local.sh reset   # stop and delete the state (keeps the schema cache)
#
# Everything lives in ZBX_STATE_DIR (default run/zabbix). The freshly imported schema is kept
# as a pg_dump in ZBX_CACHE_DIR (default build/zabbix-cache, gitignored): importing the SQL
# takes ~10 s, restoring the dump ~1 s. Ports (127.0.0.1 only): ZBX_PGPORT (55462),
# ZBX_PORT (10061, server trapper), ZBX_WEB_PORT (18088, frontend and API).
# The API login is Admin/zabbix and PostgreSQL trusts loopback: never expose this instance.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=$(realpath -m "${ZBX_STATE_DIR:-$REPO/run/zabbix}")
CACHE=$(realpath -m "${ZBX_CACHE_DIR:-$REPO/build/zabbix-cache}")
PGPORT=${ZBX_PGPORT:-55462}
SERVER_PORT=${ZBX_PORT:-10061}
WEB_PORT=${ZBX_WEB_PORT:-18088}
PGBIN=${ZBX_PG_BINDIR:-/usr/lib/postgresql/15/bin}
SCHEMA_SQL=/usr/share/zabbix-server-pgsql
SCHEMA_DUMP=$CACHE/zabbix-schema-$(dpkg-query -W -f='${Version}' zabbix-server-pgsql | tr ':~+' '___').dump
PGDATA=$STATE/pgdata
API_URL=http://127.0.0.1:$WEB_PORT/api_jsonrpc.php

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_zabbix() { psql -h 127.0.0.1 -p "$PGPORT" -U zabbix -d zabbix -v ON_ERROR_STOP=1 -q "$@"; }
log() { echo "zabbix-local: $*" >&2; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_until() {  # wait_until SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then log "timed out waiting for $what"; return 1; fi
    sleep 0.2
  done
}

api_answers() {
  curl -sf -H 'Content-Type: application/json-rpc' \
    -d '{"jsonrpc":"2.0","method":"user.login","params":{"username":"Admin","password":"zabbix"},"id":1}' \
    "$API_URL" | grep '"result"'
}

start_database() {
  mkdir -p "$STATE/pgsock" "$STATE/log"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$STATE" "$STATE/pgsock"; chmod o+x "$STATE"; fi
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    as_postgres "$PGBIN/initdb" -D "$PGDATA" --auth=trust -U postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$PGDATA/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$STATE/pgsock'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  if ! as_postgres "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; then
    as_postgres "$PGBIN/pg_ctl" start -w -t 60 -D "$PGDATA" -l "$STATE/pgsock/postgresql.log" >/dev/null
  fi
  if psql_zabbix -tAc "SELECT 1 FROM users LIMIT 1" >/dev/null 2>&1; then return; fi
  psql -h 127.0.0.1 -p "$PGPORT" -U postgres -q -v ON_ERROR_STOP=1 <<EOF
CREATE ROLE zabbix LOGIN PASSWORD 'zabbix';
CREATE DATABASE zabbix OWNER zabbix TEMPLATE template0 ENCODING 'UTF8';
EOF
  if [ -f "$SCHEMA_DUMP" ]; then
    pg_restore -h 127.0.0.1 -p "$PGPORT" -U zabbix -d zabbix -j 2 --no-owner "$SCHEMA_DUMP"
  else
    log "importing the Zabbix schema (~10 s; cached afterwards in $CACHE)"
    # data.sql has its own BEGIN/COMMIT: no --single-transaction.
    zcat "$SCHEMA_SQL/schema.sql.gz" "$SCHEMA_SQL/images.sql.gz" "$SCHEMA_SQL/data.sql.gz" | psql_zabbix >/dev/null
    mkdir -p "$CACHE"
    pg_dump -h 127.0.0.1 -p "$PGPORT" -U zabbix -Fc -f "$SCHEMA_DUMP.tmp" zabbix && mv "$SCHEMA_DUMP.tmp" "$SCHEMA_DUMP"
  fi
  # The stock "Zabbix server" host polls an agent we do not run: only noise and a problem.
  psql_zabbix -c "UPDATE hosts SET status = 1 WHERE host = 'Zabbix server'"
}

start_server() {
  mkdir -p "$STATE/run" "$STATE/sock" "$STATE/log"
  cat > "$STATE/zabbix_server.conf" <<EOF
ListenIP=127.0.0.1
ListenPort=$SERVER_PORT
PidFile=$STATE/run/zabbix_server.pid
LogFile=$STATE/log/zabbix_server.log
SocketDir=$STATE/sock
DBHost=127.0.0.1
DBPort=$PGPORT
DBName=zabbix
DBUser=zabbix
DBPassword=zabbix
AllowRoot=1
# New or changed configuration goes live within 2 s instead of 60 s.
CacheUpdateFrequency=2
Timeout=3
StartPollers=2
# One poller per few web scenarios, so a slow endpoint does not delay the others' checks.
StartHTTPPollers=4
StartPingers=0
StartDiscoverers=0
StartDBSyncers=2
StartPreprocessors=2
HousekeepingFrequency=0
ProblemHousekeepingFrequency=5
EOF
  if pid_alive "$STATE/run/zabbix_server.pid"; then return; fi
  : > "$STATE/log/zabbix_server.log"
  /usr/sbin/zabbix_server -c "$STATE/zabbix_server.conf"
  wait_until 30 "zabbix_server" grep 'started \[trapper' "$STATE/log/zabbix_server.log"
}

start_frontend() {
  local frontend=$STATE/frontend
  if [ ! -d "$frontend" ]; then
    cp -r /usr/share/zabbix "$frontend.tmp"
    # The Debian frontend reads a fixed /etc/zabbix path; point it at our own file instead.
    sed -i "s|'/etc/zabbix/zabbix.conf.php'|'$STATE/zabbix.conf.php'|" \
      "$frontend.tmp/include/classes/core/CConfigFile.php"
    mv "$frontend.tmp" "$frontend"
  fi
  cat > "$STATE/zabbix.conf.php" <<EOF
<?php
\$DB['TYPE'] = 'POSTGRESQL';
\$DB['SERVER'] = '127.0.0.1';
\$DB['PORT'] = '$PGPORT';
\$DB['DATABASE'] = 'zabbix';
\$DB['USER'] = 'zabbix';
\$DB['PASSWORD'] = 'zabbix';
\$DB['SCHEMA'] = '';
\$DB['ENCRYPTION'] = false;
\$DB['DOUBLE_IEEE754'] = true;
\$ZBX_SERVER = '127.0.0.1';
\$ZBX_SERVER_PORT = '$SERVER_PORT';
\$ZBX_SERVER_NAME = 'jmmc-local';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
EOF
  if pid_alive "$STATE/run/frontend.pid"; then return; fi
  # php -S forks workers that outlive their parent: own session, stopped by process group.
  PHP_CLI_SERVER_WORKERS=4 setsid php -d date.timezone=UTC -d memory_limit=256M \
    -d post_max_size=16M -d max_execution_time=300 \
    -S "127.0.0.1:$WEB_PORT" -t "$frontend" >"$STATE/log/frontend.log" 2>&1 </dev/null &
  echo $! > "$STATE/run/frontend.pid"
  wait_until 30 "the Zabbix API at $API_URL" api_answers
}

stop_all() {
  if pid_alive "$STATE/run/frontend.pid"; then kill -- "-$(cat "$STATE/run/frontend.pid")" || true; fi
  rm -f "$STATE/run/frontend.pid"
  if pid_alive "$STATE/run/zabbix_server.pid"; then
    local pid; pid=$(cat "$STATE/run/zabbix_server.pid")
    kill "$pid"
    wait_until 20 "zabbix_server to stop" bash -c "! kill -0 $pid"
  fi
  if [ -f "$PGDATA/PG_VERSION" ] && as_postgres "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; then
    as_postgres "$PGBIN/pg_ctl" stop -w -m fast -D "$PGDATA" >/dev/null
  fi
}

describe() {
  echo "ZABBIX_API_URL=$API_URL"
  echo "ZABBIX_SERVER_PORT=$SERVER_PORT"
  echo "ZABBIX_SERVER_CONF=$STATE/zabbix_server.conf"
}

case "${1:-}" in
  start) start_database; start_server; start_frontend; describe ;;
  stop) stop_all ;;
  reset) stop_all; rm -rf "$STATE" ;;
  status)
    pid_alive "$STATE/run/zabbix_server.pid" && pid_alive "$STATE/run/frontend.pid" && api_answers >/dev/null \
      && describe || { log "not running"; exit 3; } ;;
  *) echo "usage: $0 start|status|stop|reset" >&2; exit 2 ;;
esac
