#!/usr/bin/env bash
# Installs (from Debian's packages, if missing) and starts a local PostgreSQL server on 127.0.0.1:5432,
# then makes sure role `rekko` (password `rekko`) and database `rekko` exist.
# Idempotent: safe to run again while the server is up. Works as root without systemd.
# Exits non-zero with a message naming the failed step when it cannot.
# Tests reach it through REKKO_TEST_PG_URL (postgres://rekko:rekko@127.0.0.1:5432/rekko).
set -euo pipefail

PG_PORT="${REKKO_PG_PORT:-5432}"
PG_ROLE="rekko"
PG_PASSWORD="rekko"
PG_DB="rekko"

die() {
    echo "postgres.sh: ERROR: $*" >&2
    exit 1
}

as_postgres() {
    if [ "$(id -u)" = "0" ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    elif [ "$(id -un)" = "postgres" ]; then
        "$@"
    else
        sudo -u postgres "$@"
    fi
}

server_ready() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
}

# 1. Install.
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "postgres.sh: installing PostgreSQL from Debian packages"
    if [ "$(id -u)" != "0" ]; then
        die "PostgreSQL is not installed and this script is not root; run: apt-get install -y postgresql"
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q postgresql >/dev/null || die "apt-get install postgresql failed"
fi

# 2. Find (or create) a cluster and start it.
if ! server_ready; then
    if command -v pg_lsclusters >/dev/null 2>&1; then
        cluster_line="$(pg_lsclusters -h 2>/dev/null | head -n 1 || true)"
        if [ -z "$cluster_line" ]; then
            ver="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
            echo "postgres.sh: creating cluster $ver/main on port $PG_PORT"
            pg_createcluster "$ver" main --port "$PG_PORT" >/dev/null || die "pg_createcluster $ver main failed"
            cluster_line="$(pg_lsclusters -h | head -n 1)"
        fi
        ver="$(echo "$cluster_line" | awk '{print $1}')"
        name="$(echo "$cluster_line" | awk '{print $2}')"
        port="$(echo "$cluster_line" | awk '{print $3}')"
        if [ "$port" != "$PG_PORT" ]; then
            die "cluster $ver/$name listens on port $port, expected $PG_PORT"
        fi
        echo "postgres.sh: starting cluster $ver/$name"
        # pg_ctlcluster works without systemd when run as root (it calls pg_ctl as the cluster owner).
        if ! pg_ctlcluster "$ver" "$name" start 2>/tmp/postgres-start.err; then
            if ! grep -qi "already running" /tmp/postgres-start.err; then
                cat /tmp/postgres-start.err >&2
                die "pg_ctlcluster $ver $name start failed (log: /var/log/postgresql/postgresql-$ver-$name.log)"
            fi
        fi
    else
        die "pg_lsclusters not found: is postgresql-common installed?"
    fi
fi

# 3. Wait until it accepts connections.
for _ in $(seq 1 60); do
    if server_ready; then
        break
    fi
    sleep 0.5
done
server_ready || die "server on 127.0.0.1:$PG_PORT does not accept connections after 30 s"

# 4. Role and database.
psql_admin() {
    as_postgres psql -v ON_ERROR_STOP=1 -q -X -p "$PG_PORT" -d postgres "$@"
}
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != "1" ]; then
    psql_admin -c "CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD'" || die "cannot create role $PG_ROLE"
else
    psql_admin -c "ALTER ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD'" || die "cannot set password of role $PG_ROLE"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE" || die "cannot create database $PG_DB"
fi

# 5. Check a password login over TCP, as the tests connect.
if ! PGPASSWORD="$PG_PASSWORD" psql -q -X -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" -tAc "SELECT 1" >/dev/null; then
    die "password login as $PG_ROLE@127.0.0.1:$PG_PORT/$PG_DB fails (check pg_hba.conf)"
fi
echo "postgres.sh: PostgreSQL ready at postgres://$PG_ROLE:***@127.0.0.1:$PG_PORT/$PG_DB"
