# A streaming read replica of the machine's PostgreSQL (`infra.sh up --replica`): a second
# cluster of the same major version, `replica` on 127.0.0.1:5433, made with pg_basebackup from
# the primary and kept in recovery (hot standby), so `DATABASE_READ_URL` has a real replica
# behind it. Sourced by infra.sh. Debian's cluster tools (pg_createcluster, pg_ctlcluster).

REPLICA_PORT=${WEFT_REPLICA_PORT:-5433}
REPLICA_CLUSTER=replica

replica_up() { pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT" 2>/dev/null; }
replica_version() { ls /etc/postgresql | head -n 1; }

# The primary must take replication connections from loopback (its pg_hba.conf's `all` does
# not cover the `replication` pseudo-database).
replica_allow_on_primary() {
  local hba
  hba=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc 'SHOW hba_file')
  if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    printf 'host replication all 127.0.0.1/32 trust\n' >>"$hba"
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAtc 'SELECT pg_reload_conf()' >/dev/null
  fi
}

replica_create() {
  local version data
  version=$(replica_version)
  data="/var/lib/postgresql/$version/$REPLICA_CLUSTER"
  if [ "$(id -u)" != 0 ]; then
    fail replica "creating a cluster needs root (pg_createcluster)"; return 1
  fi
  replica_allow_on_primary || { fail replica "could not allow replication on the primary"; return 1; }
  if [ ! -f "$data/standby.signal" ]; then
    pg_dropcluster --stop "$version" "$REPLICA_CLUSTER" >/dev/null 2>&1 || true
    pg_createcluster "$version" "$REPLICA_CLUSTER" -p "$REPLICA_PORT" >/dev/null ||
      { fail replica "pg_createcluster failed"; return 1; }
    # Its own pg_hba.conf (Debian keeps configuration out of the data folder) as the primary's.
    cp "$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc 'SHOW hba_file')" \
      "/etc/postgresql/$version/$REPLICA_CLUSTER/pg_hba.conf"
    rm -rf "${data:?}"/*
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
    su postgres -c "pg_basebackup -h 127.0.0.1 -p $PG_PORT -U postgres -D '$data' -R -X stream -c fast" \
      >/dev/null 2>&1 || { fail replica "pg_basebackup from the primary failed"; return 1; }
  fi
}

# Whether the replica receives WAL from the primary (within ~10 s of a start).
replica_streaming() {
  local deadline=$((SECONDS + 10))
  until [ "$(psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -Atc \
    "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

replica_start() {
  replica_create || return 1
  pg_ctlcluster --skip-systemctl-redirect "$(replica_version)" "$REPLICA_CLUSTER" start >/dev/null 2>&1 ||
    { fail replica "could not start the cluster (pg_lsclusters; its log in /var/log/postgresql)"; return 1; }
  wait_for replica replica_up || { fail replica "not ready within ${WAIT_SECONDS}s"; return 1; }
}

replica_ensure() {
  local address="replica 127.0.0.1:$REPLICA_PORT"
  if replica_up && replica_streaming; then ok replica "$address (already running)"; return 0; fi
  replica_up || replica_start || return 1
  if ! replica_streaming; then
    # Stopped for long enough that the primary recycled the WAL it needs (there is no
    # replication slot, so a forgotten replica cannot fill the primary's disk): copy again.
    replica_stop >/dev/null
    rm -f "/var/lib/postgresql/$(replica_version)/$REPLICA_CLUSTER/standby.signal"
    replica_start || return 1
    replica_streaming || { fail replica "not streaming from the primary (see /var/log/postgresql)"; return 1; }
    ok replica "$address (copied again from 127.0.0.1:$PG_PORT: it had fallen behind the primary's WAL)"
    return 0
  fi
  ok replica "$address (streaming from 127.0.0.1:$PG_PORT)"
}

replica_stop() {
  [ -d "/etc/postgresql/$(replica_version)/$REPLICA_CLUSTER" ] || return 0
  pg_ctlcluster --skip-systemctl-redirect "$(replica_version)" "$REPLICA_CLUSTER" stop >/dev/null 2>&1 || true
  ok replica "stopped"
}
