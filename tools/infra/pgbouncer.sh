# PgBouncer in transaction mode in front of the machine's PostgreSQL, for the distributed stack
# with `--pgbouncer` (the replica benchmark and fault suite): Debian's package, installed when
# missing (as root), run with a configuration of our own. Sourced by infra.sh.
# Every database on the server is reachable through it as user postgres (loopback, trust).
# Why transaction mode, and what must bypass it: docs/adr/0018-pgbouncer-in-transaction-mode.md.

PGBOUNCER_PORT=${WEFT_PGBOUNCER_PORT:-6432}
# Not under ~/.cache: as root PgBouncer runs as `postgres` (it refuses root), which must
# write its log and pid file here.
PGBOUNCER_RUN=${WEFT_PGBOUNCER_DIR:-/tmp/weft-pgbouncer}
PGBOUNCER_PID="$PGBOUNCER_RUN/pgbouncer.pid"

pgbouncer_up() { pg_isready -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -d postgres 2>/dev/null; }

pgbouncer_install() {
  command -v pgbouncer >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    fail pgbouncer "not installed: run 'sudo apt-get install -y pgbouncer'"; return 1
  fi
  echo "  … installing Debian's pgbouncer (apt-get)"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y pgbouncer >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y pgbouncer >/dev/null 2>&1; }; } \
    && command -v pgbouncer >/dev/null \
    || { fail pgbouncer "apt-get install pgbouncer failed; run it by hand to see why"; return 1; }
}

pgbouncer_configure() {
  mkdir -p "$PGBOUNCER_RUN"
  # Pool sizes: PostgreSQL allows 100 connections; the tests' own direct connections and a
  # stack without PgBouncer need the rest. 40 server connections carry two replicas of each
  # service (whose pools total ~90 client connections) at the benchmark's load.
  cat >"$PGBOUNCER_RUN/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$PG_PORT user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
reserve_pool_size = 5
max_db_connections = 60
server_lifetime = 3600
server_idle_timeout = 60
ignore_startup_parameters = extra_float_digits
admin_users = postgres
logfile = $PGBOUNCER_RUN/pgbouncer.log
pidfile = $PGBOUNCER_PID
EOF
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$PGBOUNCER_RUN"; fi
}

pgbouncer_start() {
  local as=()
  [ "$(id -u)" = 0 ] && as=(-u postgres)
  pgbouncer -d -q "${as[@]}" "$PGBOUNCER_RUN/pgbouncer.ini" ||
    { fail pgbouncer "could not start:"; tail -n 20 "$PGBOUNCER_RUN/pgbouncer.log" >&2; return 1; }
  wait_for pgbouncer pgbouncer_up ||
    { fail pgbouncer "not ready within ${WAIT_SECONDS}s:"; tail -n 20 "$PGBOUNCER_RUN/pgbouncer.log" >&2; return 1; }
}

pgbouncer_ensure() {
  local address="pgbouncer 127.0.0.1:$PGBOUNCER_PORT"
  if pgbouncer_up; then ok pgbouncer "$address (already running)"; return 0; fi
  pgbouncer_install || return 1
  pgbouncer_configure
  [ -f "$PGBOUNCER_PID" ] && ! kill -0 "$(cat "$PGBOUNCER_PID")" 2>/dev/null && rm -f "$PGBOUNCER_PID"
  pgbouncer_start || return 1
  ok pgbouncer "$address (started, transaction mode)"
}

pgbouncer_stop() {
  if [ -f "$PGBOUNCER_PID" ] && kill -0 "$(cat "$PGBOUNCER_PID")" 2>/dev/null; then
    kill -TERM "$(cat "$PGBOUNCER_PID")"
    ok pgbouncer "stopped"
  fi
}
