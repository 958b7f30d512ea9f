# Versions, ports and folders of the local stack. Every value can be overridden from the
# environment; the defaults match the defaults of sluice.toml, so change both together.
# shellcheck shell=bash

SLUICE_ROOT=${SLUICE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Data, logs and pids: one git-ignored folder inside the clone.
SLUICE_STATE_DIR=${SLUICE_STATE_DIR:-$SLUICE_ROOT/.stack}
# Downloads shared by every clone on this machine.
SLUICE_CACHE_DIR=${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}

# A value of the shipped sluice.toml, quotes removed: the one source of the defaults the scripts
# share with the binaries (its values are the binaries' defaults; common/tests/sluice_toml.rs).
sluice_default() {
  awk -v section="[$1]" -v key="$2" '
    $0 == section { inside = 1; next }
    /^\[/ { inside = 0 }
    inside && $1 == key { sub(/^[^=]*=[ \t]*/, ""); gsub(/"/, ""); print; exit }
  ' "$SLUICE_ROOT/sluice.toml"
}

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$SLUICE_ROOT/stack/pom.xml")
APICURIO_VERSION=${APICURIO_VERSION:-3.3.3}

MYSQL_PORT=${SLUICE_STACK_MYSQL_PORT:-3306}
MYSQL_DATABASE=sluice
MYSQL_USER=sluice
MYSQL_PASSWORD=sluice
# A user that logs in over TLS only (REQUIRE SSL), for the secured pipeline.
MYSQL_TLS_USER=sluice_tls
MYSQL_TLS_PASSWORD=sluice_tls
# Users whose passwords a shell or a settings loader could mangle (digits with a leading zero;
# `#`, `=`, spaces and quotes), and one with no grant on the database, for the tests of logins.
MYSQL_ZERO_USER=sluice_zero
MYSQL_ZERO_PASSWORD=007
MYSQL_ODD_USER=sluice_odd
MYSQL_ODD_PASSWORD='p#ss= w0rd "x"'
MYSQL_BARE_USER=sluice_bare
MYSQL_BARE_PASSWORD=sluice_bare
# The binlog source's user: the producer's grants, and the replication stream's.
MYSQL_BINLOG_USER=sluice_binlog
MYSQL_BINLOG_PASSWORD=sluice_binlog
# Replication client for change-data-capture peers (the benchmark's Debezium).
MYSQL_CDC_USER=sluice_cdc
MYSQL_CDC_PASSWORD=sluice_cdc
KAFKA_PORT=${SLUICE_STACK_KAFKA_PORT:-9092}
# The SCRAM (and PLAIN) user of the secured listeners (make up SECURE=1).
KAFKA_SASL_USER=sluice
KAFKA_SASL_PASSWORD=sluice-secret
KAFKA_CONTROLLER_PORT=${SLUICE_STACK_KAFKA_CONTROLLER_PORT:-9093}
REGISTRY_PORT=${SLUICE_STACK_REGISTRY_PORT:-8081}
REGISTRY_MANAGEMENT_PORT=${SLUICE_STACK_REGISTRY_MANAGEMENT_PORT:-8091}
PROMETHEUS_PORT=${SLUICE_STACK_PROMETHEUS_PORT:-9090}

# Heaps are bounded so the stack and the pipeline fit a small machine side by side.
KAFKA_HEAP=${SLUICE_STACK_KAFKA_HEAP:--Xms256m -Xmx768m}
REGISTRY_HEAP=${SLUICE_STACK_REGISTRY_HEAP:--Xms128m -Xmx512m}
TOOL_HEAP=${SLUICE_STACK_TOOL_HEAP:--Xmx384m}

LOG_DIR=$SLUICE_STATE_DIR/logs
RUN_DIR=$SLUICE_STATE_DIR/run
