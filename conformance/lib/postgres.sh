# shellcheck shell=bash
# Debian's PostgreSQL for the suites' external datastores, installed when missing. Each database
# cluster lives in a scratch directory owned by the postgres user (the server refuses to run as
# root); `pg_ctl` is PostgreSQL's own, so a suite stops and starts it as an operator would.

postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_postgres() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# install_postgres LOG: the postgresql package unless a server is installed.
install_postgres() {
  [[ -z "$(postgres_bin)" ]] || return 0
  [[ $EUID -eq 0 ]] || { echo "FAIL: PostgreSQL is not installed and installing it needs root: apt-get install -y postgresql"; return 1; }
  echo "installing Debian's postgresql package"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >"$1" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >>"$1" 2>&1 || { tail -n 20 "$1"; return 1; }
}

# init_postgres DIR [CLIENT_CIDR]: a new database cluster in DIR/data whose clients authenticate
# as trusted: from loopback, and from CLIENT_CIDR when given.
init_postgres() {
  mkdir -p "$1"
  [[ $EUID -ne 0 ]] || chown postgres "$1"
  as_postgres "$(postgres_bin)/initdb" -D "$1/data" -A trust -U postgres >"$1/initdb.log" 2>&1 || { cat "$1/initdb.log"; return 1; }
  [[ -z "${2:-}" ]] || echo "host all all $2 trust" | as_postgres tee -a "$1/data/pg_hba.conf" >/dev/null
}

# start_postgres DIR ADDRESS PORT: the cluster of DIR listening on ADDRESS:PORT (its Unix socket in
# DIR), its log in DIR/log; returns once it accepts connections.
start_postgres() {
  as_postgres "$(postgres_bin)/pg_ctl" -D "$1/data" -l "$1/log" -w \
    -o "-c listen_addresses=$2 -p $3 -k $1" start >"$1/pg_ctl.log" 2>&1 || { cat "$1/pg_ctl.log" "$1/log"; return 1; }
}

# stop_postgres DIR: a fast shutdown, as for maintenance; nothing when it is not running.
stop_postgres() {
  [[ -f "$1/data/postmaster.pid" ]] || return 0
  as_postgres "$(postgres_bin)/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1
}

# create_spire_database HOST PORT: the database SPIRE's connection strings name (HOST: an address,
# or the socket directory).
create_spire_database() {
  "$(postgres_bin)/psql" -h "$1" -p "$2" -U postgres -v ON_ERROR_STOP=1 -q -c 'CREATE DATABASE spire' >/dev/null
}
