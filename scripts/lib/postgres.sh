# shellcheck shell=bash
#
# scripts/lib/postgres.sh -- make sure a PostgreSQL server is reachable for
# billingd's tests. Source it, then call `ensure_postgres`.
#
# On success it exports
#   BILLINGD_TEST_DATABASE_URL  admin URL on which CREATE DATABASE works
#   BILLINGD_DATABASE__URL      URL of database `billingd` (created if missing),
#                               left alone if it was already set
#
# Order of attempts:
#   a) BILLINGD_DATABASE__URL / BILLINGD_TEST_DATABASE_URL already set and the
#      server answers -> use them
#   b) a server already answers on 127.0.0.1:5432, or a Debian cluster
#      (pg_lsclusters) is down -> start it with pg_ctlcluster and use it
#   c) Postgres server binaries exist -> private cluster in $REPO/.pgdata on
#      127.0.0.1:55432 (trust auth), created on first use, reused afterwards
#   d) nothing installed -> apt-get install postgresql, then b) / c)
#
# Knobs:
#   BILLINGD_PG_PRIVATE=1      go straight to c) (never touches the system cluster)
#   BILLINGD_PG_PRIVATE_PORT   port of the private cluster (default 55432)
#   BILLINGD_PGDATA            data directory of the private cluster
#                              (default $REPO/.pgdata)
#
# `stop_private_postgres` stops the private cluster (it does not delete it);
# `stop_started_postgres` stops whatever `ensure_postgres` started (for an EXIT trap);
# `restart_private_postgres [fast|immediate]` restarts it.
#
# Works when sourced into a `set -euo pipefail` script; sets no shell options.

_BILLINGD_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_BILLINGD_PG_SYSTEM_URL="postgres://postgres@127.0.0.1:5432/postgres"

_pg_log() { echo "postgres: $*" >&2; }

# URL with any password replaced by ***, for log lines.
_pg_redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# _pg_url_with_db URL DB: the same URL pointing at database DB.
_pg_url_with_db() {
    local url=$1 db=$2 query="" base scheme rest authority
    base=${url%%\?*}
    [[ $url == *\?* ]] && query="?${url#*\?}"
    scheme=${base%%://*}
    rest=${base#*://}
    authority=${rest%%/*}
    printf '%s://%s/%s%s\n' "$scheme" "$authority" "$db" "$query"
}

# Server bin directories, newest version first.
_pg_bindirs() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [[ -d $d ]] || continue
        printf '%s\n' "$d"
    done | sort -t/ -k5,5 -V -r
}

# _pg_tool NAME: path of a client tool (psql, pg_isready); on PATH or in a
# server bin directory (a machine may have the server but no client wrapper).
_pg_tool() {
    local d
    # The Debian wrapper in /usr/bin fails when no client version is installed.
    if command -v "$1" >/dev/null 2>&1 && "$1" --version >/dev/null 2>&1; then
        command -v "$1"
        return 0
    fi
    while read -r d; do
        if [[ -x $d/$1 ]]; then
            printf '%s\n' "$d/$1"
            return 0
        fi
    done < <(_pg_bindirs)
    return 1
}

# _pg_ping URL: true if we can log in and run a query.
_pg_ping() {
    local psql
    psql=$(_pg_tool psql) || return 1
    PGCONNECT_TIMEOUT=3 "$psql" "$1" -XAtq -v ON_ERROR_STOP=1 -c 'select 1' >/dev/null 2>&1
}

# _pg_listening HOST PORT: true if a server accepts connections (auth aside).
_pg_listening() {
    local isready
    isready=$(_pg_tool pg_isready) || return 1
    "$isready" -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1
}

# _pg_wait URL [SECONDS]: wait until _pg_ping succeeds.
_pg_wait() {
    local url=$1 deadline=$((SECONDS + ${2:-30}))
    until _pg_ping "$url"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# _pg_closefds CMD...: run CMD (a command or one of our functions) in a
# subshell with every fd above 2 closed, so that a server it leaves running
# holds no lock or pipe of ours (a CI runner waiting for EOF on an inherited
# pipe would hang).
_pg_closefds() {
    (
        fds=(/proc/"$BASHPID"/fd/*)
        for fd in "${fds[@]##*/}"; do
            if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then
                eval "exec $fd>&-"
            fi
        done
        "$@"
    )
}

_pg_is_root() { [[ $(id -u) -eq 0 ]]; }

# Run as root: directly, or through passwordless sudo.
_pg_as_root() {
    if _pg_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

# ---------------------------------------------------------------------------
# b) the machine's Debian cluster

# Prints "VERSION PORT STATUS" of the newest cluster named main, if any.
_pg_debian_cluster() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 1
    pg_lsclusters --no-header 2>/dev/null |
        awk '$2 == "main" { print $1, $3, $4 }' | sort -V -r | head -n 1 | grep .
}

# Sets _pg_admin_url on success.
_pg_try_system() {
    local url=$_BILLINGD_PG_SYSTEM_URL info ver port status
    if _pg_ping "$url"; then
        _pg_log "using running server at 127.0.0.1:5432"
        _pg_admin_url=$url
        return 0
    fi
    if ! info=$(_pg_debian_cluster); then
        _pg_log "no server on 127.0.0.1:5432 and no Debian cluster"
        return 1
    fi
    read -r ver port status <<<"$info"
    url="postgres://postgres@127.0.0.1:${port}/postgres"
    if [[ $status == online* ]]; then
        if _pg_ping "$url"; then
            _pg_log "using running cluster $ver/main at 127.0.0.1:$port"
            _pg_admin_url=$url
            return 0
        fi
    else
        _pg_log "cluster $ver/main is $status; starting it"
        if ! _pg_closefds _pg_as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2; then
            _pg_log "could not start cluster $ver/main (need root or passwordless sudo)"
            return 1
        fi
        if _pg_wait "$url" 30; then
            _pg_log "started cluster $ver/main"
            _BILLINGD_PG_STARTED="system $ver"
            _pg_admin_url=$url
            return 0
        fi
    fi
    if _pg_listening 127.0.0.1 "$port"; then
        _pg_log "cluster $ver/main is up but refuses postgres@127.0.0.1:$port without a password (pg_hba.conf); not changing it"
    else
        _pg_log "cluster $ver/main does not answer on 127.0.0.1:$port"
    fi
    return 1
}

# ---------------------------------------------------------------------------
# c) private cluster in $REPO/.pgdata

_pg_private_port() { printf '%s\n' "${BILLINGD_PG_PRIVATE_PORT:-55432}"; }
_pg_private_dir() { printf '%s\n' "${BILLINGD_PGDATA:-$_BILLINGD_REPO_ROOT/.pgdata}"; }

# Name of the OS user that owns and runs the private cluster. initdb and
# postgres refuse to run as root, so as root we use `postgres`, or create a
# system user if there is none.
_pg_private_owner() {
    if ! _pg_is_root; then
        id -un
        return 0
    fi
    if id postgres >/dev/null 2>&1; then
        printf 'postgres\n'
        return 0
    fi
    if ! id billingd-pg >/dev/null 2>&1; then
        _pg_log "creating system user billingd-pg to run the private cluster"
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin billingd-pg >&2 || return 1
    fi
    printf 'billingd-pg\n'
}

# _pg_as_owner OWNER CMD...: run CMD as OWNER (from /, which OWNER can read).
_pg_as_owner() {
    local owner=$1
    shift
    if [[ $owner == "$(id -un)" ]]; then
        (cd / && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u "$owner" -- "$@")
    else
        (cd / && su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")")
    fi
}

# Bin directory for the private cluster: the one matching an existing data
# directory's version, else the newest one with initdb.
_pg_private_bindir() {
    local data=$1 ver d
    if [[ -f $data/PG_VERSION ]]; then
        ver=$(<"$data/PG_VERSION")
        d=/usr/lib/postgresql/$ver/bin
        if [[ -x $d/pg_ctl ]]; then
            printf '%s\n' "$d"
            return 0
        fi
        _pg_log "$data holds a PostgreSQL $ver cluster but $d/pg_ctl is missing; delete $data to recreate it"
        return 1
    fi
    while read -r d; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done < <(_pg_bindirs)
    return 1
}

_pg_have_server_binaries() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/initdb ]] && return 0
    done
    return 1
}

# _pg_private_is_ours URL DATA: the server at URL answers and runs from DATA.
_pg_private_is_ours() {
    local psql dir
    [[ -f $2/PG_VERSION ]] || return 1
    psql=$(_pg_tool psql) || return 1
    dir=$(PGCONNECT_TIMEOUT=3 "$psql" "$1" -XAtq -c 'show data_directory' 2>/dev/null) || return 1
    [[ -n $dir && $(realpath -m "$dir") == "$(realpath -m "$2")" ]]
}

# Sets _pg_admin_url on success.
_pg_try_private() {
    local data port owner bindir url lock rc
    data=$(_pg_private_dir)
    port=$(_pg_private_port)
    url="postgres://postgres@127.0.0.1:${port}/postgres"

    if _pg_private_is_ours "$url" "$data"; then
        _pg_log "using running private cluster in $data (port $port)"
        _pg_admin_url=$url
        return 0
    fi
    _pg_have_server_binaries || return 1
    bindir=$(_pg_private_bindir "$data") || return 1
    owner=$(_pg_private_owner) || {
        _pg_log "cannot find or create a non-root user to run the private cluster"
        return 1
    }

    # Serialise concurrent runs (two test scripts racing on initdb/start).
    lock="${TMPDIR:-/tmp}/billingd-pg.$(printf '%s' "$data" | cksum | cut -d' ' -f1).lock"
    rc=0
    (
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$lock"
            flock -w 120 9 || { _pg_log "timed out waiting for $lock"; exit 1; }
        fi
        _pg_private_up "$data" "$port" "$owner" "$bindir" "$url"
    ) || rc=$?
    ((rc == 0)) || return "$rc"
    _BILLINGD_PG_STARTED="private"
    _pg_admin_url=$url
}

_pg_private_up() {
    local data=$1 port=$2 owner=$3 bindir=$4 url=$5 out

    if [[ ! -f $data/PG_VERSION ]]; then
        if [[ -d $data ]] && [[ -n $(ls -A "$data" 2>/dev/null) ]]; then
            _pg_log "$data exists but is not a database cluster; delete it and retry"
            return 1
        fi
        mkdir -p "$data" || return 1
        if [[ $owner != "$(id -un)" ]]; then
            chown "$owner" "$data" || return 1
        fi
        chmod 700 "$data" || return 1
        if ! _pg_as_owner "$owner" test -w "$data"; then
            _pg_log "user $owner cannot write $data (a parent directory is not searchable?); set BILLINGD_PGDATA to a directory it can reach"
            return 1
        fi
        _pg_log "creating private cluster in $data (port $port, trust auth, 127.0.0.1 only)"
        if ! out=$(_pg_as_owner "$owner" "$bindir/initdb" -D "$data" -U postgres \
            --auth=trust --encoding=UTF8 --locale=C --no-sync --no-instructions 2>&1); then
            _pg_log "initdb failed:"
            tail -n 20 <<<"$out" >&2
            return 1
        fi
        # Throwaway test cluster: fast and unsafe on crash, which is fine here.
        _pg_as_owner "$owner" tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- billingd private test cluster (scripts/lib/postgres.sh) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi

    if _pg_as_owner "$owner" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        if _pg_wait "$url" 10 && _pg_private_is_ours "$url" "$data"; then
            _pg_log "using running private cluster in $data (port $port)"
            return 0
        fi
        _pg_log "private cluster in $data is running but does not answer on 127.0.0.1:$port"
        return 1
    fi

    if ! _pg_closefds _pg_as_owner "$owner" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" \
        -w -t 60 start >/dev/null; then
        _pg_log "private cluster failed to start; end of $data/server.log:"
        tail -n 20 "$data/server.log" >&2 2>/dev/null || true
        return 1
    fi
    if ! _pg_wait "$url" 30 || ! _pg_private_is_ours "$url" "$data"; then
        _pg_log "private cluster started but does not answer on 127.0.0.1:$port"
        return 1
    fi
    _pg_log "started private cluster in $data (port $port)"
}

# Stop the private cluster, if it runs. Leaves the data directory in place.
stop_private_postgres() {
    local data bindir owner
    data=$(_pg_private_dir)
    [[ -f $data/PG_VERSION ]] || return 0
    bindir=$(_pg_private_bindir "$data") || return 1
    owner=$(stat -c %U "$data")
    if _pg_as_owner "$owner" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        _pg_as_owner "$owner" "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null &&
            _pg_log "stopped private cluster in $data"
    fi
}

# Stop the server this shell started (nothing if it found one running): what the tests
# start, they stop. Meant for an EXIT trap.
stop_started_postgres() {
    case ${_BILLINGD_PG_STARTED:-} in
    private) stop_private_postgres || true ;;
    system\ *)
        _pg_closefds _pg_as_root pg_ctlcluster --skip-systemctl-redirect "${_BILLINGD_PG_STARTED#system }" main stop >&2 &&
            _pg_log "stopped cluster ${_BILLINGD_PG_STARTED#system }/main" || true
        ;;
    esac
    _BILLINGD_PG_STARTED=""
}

# Restart the private cluster, if it runs (the crash-and-fault campaign does this on
# purpose). MODE is pg_ctl's shutdown mode: fast (sessions are told to go, a checkpoint is
# written) or immediate (a crash: no checkpoint, recovery at start). Default fast.
restart_private_postgres() {
    local mode=${1:-fast} data bindir owner
    data=$(_pg_private_dir)
    [[ -f $data/PG_VERSION ]] || { _pg_log "no private cluster in $data"; return 1; }
    bindir=$(_pg_private_bindir "$data") || return 1
    owner=$(stat -c %U "$data")
    _pg_closefds _pg_as_owner "$owner" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" \
        -m "$mode" -w -t 60 restart >/dev/null
}

# ---------------------------------------------------------------------------
# d) install

_pg_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if ! _pg_as_root true; then
        _pg_log "PostgreSQL is not installed and we are neither root nor have passwordless sudo"
        return 1
    fi
    _pg_log "PostgreSQL server not installed; installing it with apt-get"
    _pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
        _pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
}

# ---------------------------------------------------------------------------

# Create database billingd on the admin URL's server if it does not exist.
_pg_ensure_db() {
    local admin=$1 db=$2 psql exists
    psql=$(_pg_tool psql) || return 1
    exists=$("$psql" "$admin" -XAtq -c "select 1 from pg_database where datname = '$db'") || return 1
    [[ $exists == 1 ]] && return 0
    if "$psql" "$admin" -XAtq -v ON_ERROR_STOP=1 -c "create database \"$db\"" >/dev/null 2>&1; then
        _pg_log "created database $db"
        return 0
    fi
    # Lost a race with a concurrent run?
    exists=$("$psql" "$admin" -XAtq -c "select 1 from pg_database where datname = '$db'") || return 1
    [[ $exists == 1 ]] || { _pg_log "could not create database $db"; return 1; }
}

# Use pre-set URLs if they answer. Sets _pg_admin_url on success.
_pg_try_preset() {
    local admin
    if [[ -n ${BILLINGD_TEST_DATABASE_URL:-} ]]; then
        admin=$BILLINGD_TEST_DATABASE_URL
    elif [[ -n ${BILLINGD_DATABASE__URL:-} ]]; then
        admin=$(_pg_url_with_db "$BILLINGD_DATABASE__URL" postgres)
    else
        return 1
    fi
    if ! _pg_ping "$admin"; then
        _pg_log "server at $(_pg_redact "$admin") does not answer; looking for a local one"
        return 1
    fi
    _pg_log "using running server at $(_pg_redact "$admin")"
    _pg_admin_url=$admin
}

# _pg_url_db URL: the database name in URL (empty if none).
_pg_url_db() {
    local rest=${1#*://} db=""
    if [[ $rest == */* ]]; then
        db=${rest#*/}
        db=${db%%\?*}
    fi
    printf '%s\n' "$db"
}

ensure_postgres() {
    local _pg_admin_url="" db
    local preset_db=${BILLINGD_DATABASE__URL:-} preset_admin=${BILLINGD_TEST_DATABASE_URL:-}

    if [[ ${BILLINGD_PG_PRIVATE:-0} == 1 ]]; then
        _pg_log "BILLINGD_PG_PRIVATE=1: using the private cluster"
        if [[ -n $preset_admin || -n $preset_db ]]; then
            _pg_log "ignoring pre-set BILLINGD_TEST_DATABASE_URL / BILLINGD_DATABASE__URL"
            preset_db="" preset_admin=""
        fi
        if ! _pg_have_server_binaries; then
            _pg_install || true
        fi
        if ! _pg_try_private; then
            _pg_log "ERROR: could not start a private PostgreSQL cluster"
            return 1
        fi
    elif _pg_try_preset || _pg_try_system || _pg_try_private; then
        :
    elif ! _pg_have_server_binaries && _pg_install && { _pg_try_system || _pg_try_private; }; then
        :
    else
        _pg_log "ERROR: no usable PostgreSQL server. Start one and set BILLINGD_TEST_DATABASE_URL" \
            "(an admin URL, e.g. $_BILLINGD_PG_SYSTEM_URL), or install PostgreSQL" \
            "(apt-get install postgresql) and rerun."
        return 1
    fi

    # A pre-set admin URL wins if it answers now; never silently swap it.
    if [[ -n $preset_admin && $preset_admin != "$_pg_admin_url" ]]; then
        if ! _pg_ping "$preset_admin"; then
            _pg_log "ERROR: BILLINGD_TEST_DATABASE_URL=$(_pg_redact "$preset_admin") does not answer" \
                "(a server is at $(_pg_redact "$_pg_admin_url")); unset it or fix it"
            return 1
        fi
        _pg_admin_url=$preset_admin
    fi
    export BILLINGD_TEST_DATABASE_URL=$_pg_admin_url

    if [[ -n $preset_db ]]; then
        export BILLINGD_DATABASE__URL=$preset_db
        if ! _pg_ping "$preset_db"; then
            # Its server may answer with the database still missing: create it.
            db=$(_pg_url_db "$preset_db")
            if [[ -z $db ]] || ! _pg_ensure_db "$(_pg_url_with_db "$preset_db" postgres)" "$db" ||
                ! _pg_ping "$preset_db"; then
                _pg_log "ERROR: BILLINGD_DATABASE__URL=$(_pg_redact "$preset_db") does not answer"
                return 1
            fi
        fi
    else
        _pg_ensure_db "$_pg_admin_url" billingd || return 1
        export BILLINGD_DATABASE__URL
        BILLINGD_DATABASE__URL=$(_pg_url_with_db "$_pg_admin_url" billingd)
    fi
    _pg_log "BILLINGD_TEST_DATABASE_URL=$(_pg_redact "$BILLINGD_TEST_DATABASE_URL")" \
        "BILLINGD_DATABASE__URL=$(_pg_redact "$BILLINGD_DATABASE__URL")"
}
