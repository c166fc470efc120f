#!/usr/bin/env bash
# Local infrastructure for development and tests: PostgreSQL, Redis and RabbitMQ from the
# machine's packages, a Kafka broker that this script installs and runs itself, PgBouncer, and the
# Chromium of the web console's browser tests (Debian's package, installed when missing).
#   infra.sh up [--replica] | down [--all | kafka | pgbouncer | replica] | status
# Idempotent and quick when everything runs. See tools/infra/README.md.
set -euo pipefail

# The servers started here must not inherit the caller's descriptors: a PostgreSQL started under
# `flock /tmp/weft-stack.lock …` kept that lock until it stopped, and every later locked run
# waited for it. (Closing our copy leaves the caller's lock held by the caller.)
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
done
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/infra/kafka.sh
. "$here/kafka.sh"
# shellcheck source=tools/infra/pgbouncer.sh
. "$here/pgbouncer.sh"
# shellcheck source=tools/infra/replica.sh
. "$here/replica.sh"

PG_PORT=5432
REDIS_PORT=6379
RABBITMQ_PORT=5672
WAIT_SECONDS=${WEFT_INFRA_WAIT_SECONDS:-90}

# Colour only on a terminal, so CI logs stay plain text.
if [ -t 1 ]; then green=$'\033[32m' red=$'\033[31m' plain=$'\033[0m'; else green='' red='' plain=''; fi
ok() { printf '  %s✔%s %-9s %s\n' "$green" "$plain" "$1" "$2"; }
fail() { printf '  %s✘%s %-9s %s\n' "$red" "$plain" "$1" "$2" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

postgres_up() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
rabbitmq_up() { port_open "$RABBITMQ_PORT" && rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; }

postgres_start() { pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start; }
redis_start() { redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null; }
rabbitmq_start() { rabbitmq-server -detached >/dev/null 2>&1; }

# wait_for NAME CHECK — polls CHECK for up to WAIT_SECONDS.
wait_for() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$2"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# ensure NAME ADDRESS — checks a machine service, starts it when it is down.
ensure() {
  local name=$1 address=$2
  if "${name}_up"; then ok "$name" "$address (already running)"; return 0; fi
  if ! command -v "$( [ "$name" = postgres ] && echo pg_ctlcluster || echo "${name}-server")" >/dev/null; then
    fail "$name" "$address is down and its server is not installed on this machine"; return 1
  fi
  "${name}_start" || true
  if wait_for "$name" "${name}_up"; then ok "$name" "$address (started)"; else
    fail "$name" "$address could not start within ${WAIT_SECONDS}s"; return 1
  fi
}

# The browser of the web console's tests (tests/console): Debian's chromium, which
# playwright-core drives; nothing downloads a browser build of its own.
CHROMIUM=${WEFT_CHROMIUM:-/usr/bin/chromium}
chromium_ensure() {
  if [ -x "$CHROMIUM" ]; then ok chromium "$CHROMIUM (installed)"; return 0; fi
  if [ "$CHROMIUM" != /usr/bin/chromium ]; then
    fail chromium "WEFT_CHROMIUM=$CHROMIUM is not an executable"; return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    fail chromium "not installed: run 'sudo apt-get install -y chromium' (the console's browser tests need it)"
    return 1
  fi
  echo "  … installing Debian's chromium (apt-get, about a minute)"
  if { DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null 2>&1 \
       || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null 2>&1; }; } \
     && [ -x "$CHROMIUM" ]; then
    ok chromium "$CHROMIUM (installed now)"
  else
    fail chromium "apt-get install chromium failed; run it by hand to see why"; return 1
  fi
}

up() {
  echo "infra: bringing up PostgreSQL, Redis, RabbitMQ, Kafka and PgBouncer on 127.0.0.1, and Chromium"
  local failed=0
  ensure postgres "postgresql 127.0.0.1:$PG_PORT" || failed=1
  ensure redis "redis 127.0.0.1:$REDIS_PORT" || failed=1
  ensure rabbitmq "rabbitmq 127.0.0.1:$RABBITMQ_PORT" || failed=1
  kafka_ensure || failed=1
  pgbouncer_ensure || failed=1
  if [ "${1:-}" = --replica ]; then replica_ensure || failed=1; fi
  chromium_ensure || failed=1
  [ "$failed" = 0 ] || { echo "infra: some services are not available (see above)" >&2; exit 1; }
}

down() {
  # One of the servers this script runs itself (the fault suite stops Kafka alone).
  case "${1:-}" in
    kafka | pgbouncer | replica) "${1}_stop"; return ;;
  esac
  kafka_stop
  pgbouncer_stop
  replica_stop
  if [ "${1:-}" = --all ]; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rabbitmqctl stop >/dev/null 2>&1 || true
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main stop >/dev/null 2>&1 || true
    ok all "PostgreSQL, Redis and RabbitMQ stopped too"
  else
    echo "  PostgreSQL, Redis and RabbitMQ belong to the machine and keep running (use 'down --all' to stop them)."
  fi
}

status() {
  local all=0
  postgres_up && ok postgres "127.0.0.1:$PG_PORT up" || { fail postgres "127.0.0.1:$PG_PORT down"; all=1; }
  redis_up && ok redis "127.0.0.1:$REDIS_PORT up" || { fail redis "127.0.0.1:$REDIS_PORT down"; all=1; }
  rabbitmq_up && ok rabbitmq "127.0.0.1:$RABBITMQ_PORT up" || { fail rabbitmq "127.0.0.1:$RABBITMQ_PORT down"; all=1; }
  kafka_up && ok kafka "127.0.0.1:$KAFKA_PORT up (Kafka $KAFKA_VERSION, KRaft)" || { fail kafka "127.0.0.1:$KAFKA_PORT down"; all=1; }
  pgbouncer_up && ok pgbouncer "127.0.0.1:$PGBOUNCER_PORT up (transaction mode)" || { fail pgbouncer "127.0.0.1:$PGBOUNCER_PORT down"; all=1; }
  replica_up && ok replica "127.0.0.1:$REPLICA_PORT up (read replica)" || ok replica "127.0.0.1:$REPLICA_PORT not running (infra.sh up --replica starts it)"
  [ -x "$CHROMIUM" ] && ok chromium "$CHROMIUM" || { fail chromium "$CHROMIUM missing (infra.sh up installs it)"; all=1; }
  return "$all"
}

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down "${2:-}" ;;
  status) status ;;
  *) echo "usage: $0 up [--replica] | down [--all | kafka | pgbouncer | replica] | status" >&2; exit 2 ;;
esac
