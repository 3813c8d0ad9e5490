# Throwaway PostgreSQL clusters for tests, sourced by .ci/run and the developer scripts.
# The server refuses to run as root, so initdb and postgres run as the `postgres` OS user;
# everything else (make install, pg_regress, psql, clients) connects over loopback TCP.
# Usage:  source test/lib/cluster.sh
#         cluster_start DATADIR [BINDIR]  -> exports PGHOST PGPORT PGUSER PGDATABASE
#         cluster_stop DATADIR [BINDIR]

free_port() {
    # A free loopback port, chosen by the kernel.
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cluster_start() {
    local datadir=$1 bindir=${2:-/usr/lib/postgresql/15/bin}
    local port
    port=$(free_port)
    mkdir -p "$(dirname "$datadir")"
    [ "$(id -u)" = 0 ] && chown postgres "$(dirname "$datadir")"
    as_postgres "$bindir/initdb" -D "$datadir" -U postgres --auth=trust --no-sync -E UTF8 \
        --locale=C >"$datadir.initdb.log" 2>&1 || { cat "$datadir.initdb.log"; return 1; }
    cat >>"$datadir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
fsync = off
max_connections = 40
shared_buffers = 256MB
maintenance_work_mem = 512MB
max_wal_senders = 4
wal_level = replica
lc_messages = 'C'
CONF
    as_postgres "$bindir/pg_ctl" -D "$datadir" -l "$datadir.log" -w -t 60 start >/dev/null ||
        { cat "$datadir.log"; return 1; }
    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

cluster_stop() {
    local datadir=$1 bindir=${2:-/usr/lib/postgresql/15/bin}
    [ -d "$datadir" ] || return 0
    as_postgres "$bindir/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
}
