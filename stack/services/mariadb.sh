# MariaDB from Debian's package, run with its own data folder under the state folder.
# shellcheck shell=bash

MARIADB_DIR=$SLUICE_STATE_DIR/mariadb

mariadb_address() { printf '127.0.0.1:%s' "$MYSQL_PORT"; }

# Unix sockets have a ~107-byte path limit; a deep clone falls back to a short path in /tmp.
mariadb_socket() {
  local socket=$RUN_DIR/mariadb.sock
  if [ ${#socket} -gt 100 ]; then
    socket=/tmp/sluice-mariadb-$(printf '%s' "$SLUICE_STATE_DIR" | sha256sum | cut -c1-12).sock
  fi
  printf '%s' "$socket"
}

# The admin client, as root over the private socket.
mariadb_admin() { mariadb --no-defaults --socket="$(mariadb_socket)" -uroot "$@"; }

mariadb_ready() {
  mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$MYSQL_PORT" -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" \
    -D"$MYSQL_DATABASE" -Nse 'SELECT 1' >/dev/null 2>&1
}

# Used while the service user may not exist yet.
mariadb_answers() { mariadb_admin -Nse 'SELECT 1' >/dev/null 2>&1; }

mariadb_start() {
  require_free_port mariadb "$MYSQL_PORT" SLUICE_STACK_MYSQL_PORT
  mkdir -p "$MARIADB_DIR" "$RUN_DIR" "$LOG_DIR"
  if [ ! -d "$MARIADB_DIR/data/mysql" ]; then
    say "mariadb: initialising a new data folder in $MARIADB_DIR/data"
    mariadb-install-db --no-defaults --datadir="$MARIADB_DIR/data" --user="$(id -un)" \
      --auth-root-authentication-method=socket --skip-test-db >>"$LOG_DIR/mariadb.log" 2>&1 ||
      die "mariadb: mariadb-install-db failed; see $LOG_DIR/mariadb.log"
  fi
  start_detached mariadb "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults \
    --datadir="$MARIADB_DIR/data" --socket="$(mariadb_socket)" --port="$MYSQL_PORT" \
    --bind-address=127.0.0.1 --user="$(id -un)" --log-error="$LOG_DIR/mariadb.log" \
    --pid-file="$RUN_DIR/mariadbd.pid" --skip-name-resolve \
    --ssl-ca="$TLS_DIR/ca.pem" --ssl-cert="$TLS_DIR/server.pem" --ssl-key="$TLS_DIR/server.key" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=256M --max-connections=300 \
    --server-id=1 --log-bin=binlog --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-expire-logs-seconds=86400 --max-binlog-size=256M \
    --performance-schema=ON --performance-schema-instrument='transaction=ON' \
    --performance-schema-consumer-events-transactions-current=ON \
    --performance-schema-consumer-events-statements-current=ON
  local waited=0
  until mariadb_answers; do
    service_pid mariadb >/dev/null || die "mariadb exited while starting; see its log: $LOG_DIR/mariadb.log"
    [ "$waited" -lt 60 ] || die "mariadb did not answer within 60s; see its log: $LOG_DIR/mariadb.log"
    sleep 1
    waited=$((waited + 1))
  done
  mariadb_provision
  wait_ready mariadb 30
}

# The producer's grants (stack/sql/producer-grants.sql, shared with the Docker stack) to the
# accounts given.
producer_grants() { sed "/^--/!s/@ACCOUNTS@/$1/g" "$SLUICE_ROOT/stack/sql/producer-grants.sql"; }
# The binlog source's grants (stack/sql/binlog-grants.sql) to the accounts given.
binlog_grants() { sed "/^--/!s/@ACCOUNTS@/$1/g" "$SLUICE_ROOT/stack/sql/binlog-grants.sql"; }

# Database, service user and migrations; every statement is a no-op once applied.
mariadb_provision() {
  mariadb_admin <<SQL || die "mariadb: creating database and user failed; see $LOG_DIR/mariadb.log"
CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'127.0.0.1', '$MYSQL_USER'@'localhost';
$(producer_grants "'$MYSQL_USER'@'127.0.0.1', '$MYSQL_USER'@'localhost'")
-- A user that may log in over TLS only, for the secured pipeline (either source).
CREATE USER IF NOT EXISTS '$MYSQL_TLS_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_TLS_PASSWORD' REQUIRE SSL;
GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_TLS_USER'@'127.0.0.1';
$(producer_grants "'$MYSQL_TLS_USER'@'127.0.0.1'")
$(binlog_grants "'$MYSQL_TLS_USER'@'127.0.0.1'")
-- Logins the tests try: passwords that must arrive intact, and a user granted nothing.
CREATE USER IF NOT EXISTS '$MYSQL_ZERO_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_ZERO_PASSWORD';
GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_ZERO_USER'@'127.0.0.1';
$(producer_grants "'$MYSQL_ZERO_USER'@'127.0.0.1'")
CREATE USER IF NOT EXISTS '$MYSQL_ODD_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_ODD_PASSWORD';
GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_ODD_USER'@'127.0.0.1';
$(producer_grants "'$MYSQL_ODD_USER'@'127.0.0.1'")
CREATE USER IF NOT EXISTS '$MYSQL_BARE_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_BARE_PASSWORD';
-- The binlog source reads the table and the replication stream (stack/sql/binlog-grants.sql).
CREATE USER IF NOT EXISTS '$MYSQL_BINLOG_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_BINLOG_PASSWORD';
GRANT SELECT ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_BINLOG_USER'@'127.0.0.1';
$(producer_grants "'$MYSQL_BINLOG_USER'@'127.0.0.1'")
$(binlog_grants "'$MYSQL_BINLOG_USER'@'127.0.0.1'")
-- The benchmark's peer, Debezium, reads a snapshot and then the row-based binary log.
CREATE USER IF NOT EXISTS '$MYSQL_CDC_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_CDC_PASSWORD';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '$MYSQL_CDC_USER'@'127.0.0.1';
SQL
  mariadb_migrate
}

# Applies the migrations of stack/migrations the database has not had, with sluice-migrate
# (stack/migrate: sqlx's migrator, which the Docker stack and the tests run too). Skipped while
# the migrations are those last applied to this data folder (a stamp beside it), so an `up` that
# changes nothing builds nothing. Built as `--bin` of the whole workspace rather than `-p`: its
# dependencies get the workspace's features, so the test and run builds after it reuse them.
mariadb_migrate() {
  local stamp="$MARIADB_DIR/migrations.applied" current output line
  current=$(cd "$SLUICE_ROOT/stack/migrations" && sha256sum [0-9]*.sql)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$current" ]; then
    return 0
  fi
  command -v "${CARGO:-cargo}" >/dev/null ||
    die "mariadb: applying stack/migrations needs cargo to build sluice-migrate; install Rust (https://rustup.rs)"
  output=$(cd "$SLUICE_ROOT" &&
    SLUICE__MYSQL__HOST=127.0.0.1 SLUICE__MYSQL__PORT="$MYSQL_PORT" \
      SLUICE__MYSQL__USER="$MYSQL_USER" SLUICE__MYSQL__PASSWORD="$MYSQL_PASSWORD" \
      SLUICE__MYSQL__DATABASE="$MYSQL_DATABASE" \
      RUST_LOG=warn "${CARGO:-cargo}" run --quiet --locked --bin sluice-migrate 2>&1) ||
    die "mariadb: migrating failed: $output"
  while IFS= read -r line; do
    [ -z "$line" ] || say "mariadb: $line"
  done <<<"$output"
  printf '%s\n' "$current" >"$stamp"
}

mariadb_stop() { stop_service mariadb; }

# A server started before the stack served TLS.
mariadb_outdated() { [ "$(mariadb_admin -Nse 'SELECT @@have_ssl' 2>/dev/null)" != YES ]; }
