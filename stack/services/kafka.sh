# Apache Kafka in KRaft mode, its jars from Maven Central: one broker that is also the
# controller, or with SLUICE_STACK_KAFKA_BROKERS=3 a cluster of three such nodes on 127.0.0.1.
# Node N listens on KAFKA_PORT + 100 × (N − 1) (9092, 9192, 9292) and its controller on
# KAFKA_CONTROLLER_PORT + 100 × (N − 1); the services are named kafka, kafka2 and kafka3. The
# single broker keeps its data in .stack/kafka, the cluster's nodes in .stack/kafka-cluster/node-N,
# so switching between the two (with the stack down) loses neither.
# shellcheck shell=bash

# A choice the brokers start with (VARIABLE, kept in .stack/STATE while they run): the variable
# when set; else, while a node runs, what the stack was brought up with; else DEFAULT. Must be
# one of ALLOWED (space-separated).
kafka_choice() {
  local variable=$1 state=$2 default=$3 allowed=$4 requested
  requested=${!variable:-}
  if [ -z "$requested" ] && [ -f "$SLUICE_STATE_DIR/$state" ] && kafka_any_running; then
    requested=$(cat "$SLUICE_STATE_DIR/$state")
  fi
  requested=${requested:-$default}
  case " $allowed " in
    *" $requested "*) printf '%s' "$requested" ;;
    *) die "kafka: $variable must be one of: $allowed; got $requested" ;;
  esac
}

# Records a choice the brokers start with; refuses one that differs from the running brokers'.
kafka_keep_choice() {
  local variable=$1 state=$2 wanted=$3 running
  if kafka_any_running && [ -f "$SLUICE_STATE_DIR/$state" ]; then
    running=$(cat "$SLUICE_STATE_DIR/$state")
    [ "$running" = "$wanted" ] ||
      die "kafka runs with $variable=$running, not $wanted: stop the stack first (make down)"
  fi
  mkdir -p "$SLUICE_STATE_DIR"
  printf '%s\n' "$wanted" >"$SLUICE_STATE_DIR/$state"
}

# How many brokers: 1, or 3 for a cluster.
kafka_brokers() { kafka_choice SLUICE_STACK_KAFKA_BROKERS kafka-brokers 1 "1 3"; }

# Whether the brokers serve the secured listeners (stack/config/kafka-secure.properties).
kafka_secure() { kafka_choice SLUICE_STACK_SECURE kafka-secure 0 "0 1"; }

# The secured listeners of node N: SASL_SSL two ports above its plain one, SSL (mTLS) three.
kafka_node_sasl_ssl_port() { printf '%s' $(($(kafka_node_port "$1") + 2)); }
kafka_node_ssl_port() { printf '%s' $(($(kafka_node_port "$1") + 3)); }

# Every broker's secured address of one kind (sasl_ssl or ssl), comma-separated.
kafka_secure_bootstrap() {
  local kind=$1 n list=
  for ((n = 1; n <= $(kafka_brokers); n++)); do
    list="${list:+$list,}127.0.0.1:$("kafka_node_${kind}_port" "$n")"
  done
  printf '%s' "$list"
}

kafka_any_running() {
  local service
  for service in kafka kafka2 kafka3; do
    service_pid "$service" >/dev/null && return 0
  done
  return 1
}

# The services of the brokers, in start order.
kafka_services() {
  case $(kafka_brokers) in
    3) printf '%s\n' kafka kafka2 kafka3 ;;
    *) printf '%s\n' kafka ;;
  esac
}

kafka_service_of() { if [ "$1" -eq 1 ]; then printf kafka; else printf 'kafka%s' "$1"; fi; }
kafka_node_port() { printf '%s' $((KAFKA_PORT + 100 * ($1 - 1))); }
kafka_node_controller_port() { printf '%s' $((KAFKA_CONTROLLER_PORT + 100 * ($1 - 1))); }
kafka_node_address() { printf '127.0.0.1:%s' "$(kafka_node_port "$1")"; }

kafka_node_dir() {
  if [ "$(kafka_brokers)" -eq 1 ]; then
    printf '%s/kafka' "$SLUICE_STATE_DIR"
  else
    printf '%s/kafka-cluster/node-%s' "$SLUICE_STATE_DIR" "$1"
  fi
}

# What the function named $1 prints for each broker's number, comma-separated.
kafka_each_node() {
  local n list=
  for ((n = 1; n <= $(kafka_brokers); n++)); do
    list="${list:+$list,}$("$1" "$n")"
  done
  printf '%s' "$list"
}

kafka_node_voter() { printf '%s@127.0.0.1:%s' "$1" "$(kafka_node_controller_port "$1")"; }

# Every broker's address, comma-separated: what clients bootstrap from.
kafka_bootstrap() { kafka_each_node kafka_node_address; }

# The KRaft controller quorum: every node's id and controller address.
kafka_voters() { kafka_each_node kafka_node_voter; }

kafka_address() { kafka_node_address 1; }
kafka2_address() { kafka_node_address 2; }
kafka3_address() { kafka_node_address 3; }

kafka_java() {
  find_java 17 || die "kafka: needs Java 17 or newer; install openjdk-17-jre-headless"
}

# Runs one Kafka class on the shared classpath with the quiet tools logging.
kafka_class() {
  local class=$1
  shift
  # shellcheck disable=SC2086
  "$(kafka_java)" $TOOL_HEAP -Dlog4j2.configurationFile="$SLUICE_ROOT/stack/config/tools-log4j2.properties" \
    -cp "$(kafka_libs_dir)/*" "$class" "$@"
}

# A metadata request through the real client: the port being open is not enough.
kafka_node_ready() {
  port_open "$(kafka_node_port "$1")" &&
    timeout 60 "$SLUICE_ROOT/stack/kafka-tool" topics --bootstrap-server "$(kafka_node_address "$1")" --list >/dev/null 2>&1
}
kafka_ready() { kafka_node_ready 1; }
kafka2_ready() { kafka_node_ready 2; }
kafka3_ready() { kafka_node_ready 3; }

kafka_node_write_config() {
  local n=$1 dir brokers replicas in_sync
  dir=$(kafka_node_dir "$n")
  brokers=$(kafka_brokers)
  # The internal topics (offsets, transactions) are replicated to every broker, up to three,
  # and take writes with one broker down.
  replicas=$brokers
  in_sync=$((brokers > 1 ? 2 : 1))
  mkdir -p "$dir"
  sed -e "s#@DATA@#$dir/data#g" -e "s#@NODE_ID@#$n#g" -e "s#@VOTERS@#$(kafka_voters)#g" \
    -e "s#@KAFKA_PORT@#$(kafka_node_port "$n")#g" \
    -e "s#@KAFKA_CONTROLLER_PORT@#$(kafka_node_controller_port "$n")#g" \
    -e "s#@REPLICAS@#$replicas#g" -e "s#@MIN_ISR@#$in_sync#g" \
    "$SLUICE_ROOT/stack/config/kafka-server.properties" >"$dir/server.properties"
  if [ "$(kafka_secure)" = 1 ]; then
    sed -e "s#@KAFKA_PORT@#$(kafka_node_port "$n")#g" \
      -e "s#@KAFKA_CONTROLLER_PORT@#$(kafka_node_controller_port "$n")#g" \
      -e "s#@SASL_SSL_PORT@#$(kafka_node_sasl_ssl_port "$n")#g" -e "s#@SSL_PORT@#$(kafka_node_ssl_port "$n")#g" \
      -e "s#@TLS_DIR@#$TLS_DIR#g" -e "s#@KEYSTORE_PASSWORD@#$TLS_KEYSTORE_PASSWORD#g" \
      -e "s#@SASL_USER@#$KAFKA_SASL_USER#g" -e "s#@SASL_PASSWORD@#$KAFKA_SASL_PASSWORD#g" \
      "$SLUICE_ROOT/stack/config/kafka-secure.properties" >>"$dir/server.properties"
  fi
}

# The broker refuses unformatted storage; format it once, keeping the cluster id for good. The
# nodes of a cluster share one id, kept beside them.
kafka_node_format_once() {
  local n=$1 dir cluster_id id_file
  dir=$(kafka_node_dir "$n")
  [ -f "$dir/data/meta.properties" ] && return 0
  if [ "$(kafka_brokers)" -eq 1 ]; then
    cluster_id=$(kafka_class kafka.tools.StorageTool random-uuid) || die "kafka: cannot generate a cluster id"
  else
    id_file=$SLUICE_STATE_DIR/kafka-cluster/cluster-id
    if [ ! -s "$id_file" ]; then
      kafka_class kafka.tools.StorageTool random-uuid >"$id_file" || die "kafka: cannot generate a cluster id"
    fi
    cluster_id=$(cat "$id_file")
  fi
  say "$(kafka_service_of "$n"): formatting storage in $dir/data (cluster $cluster_id)"
  kafka_class kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    >>"$LOG_DIR/$(kafka_service_of "$n").log" 2>&1 ||
    die "kafka: formatting storage failed; see $LOG_DIR/$(kafka_service_of "$n").log"
}

# Starts node N without waiting for it: a node of a cluster answers only once a majority of the
# controllers are up.
kafka_node_launch() {
  local n=$1 service
  service=$(kafka_service_of "$n")
  service_pid "$service" >/dev/null && return 0
  require_free_port "$service" "$(kafka_node_port "$n")" SLUICE_STACK_KAFKA_PORT
  require_free_port "$service" "$(kafka_node_controller_port "$n")" SLUICE_STACK_KAFKA_CONTROLLER_PORT
  mkdir -p "$LOG_DIR"
  kafka_node_write_config "$n"
  kafka_node_format_once "$n"
  # shellcheck disable=SC2086
  start_detached "$service" "$(kafka_java)" $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SLUICE_ROOT/stack/config/log4j2.properties" \
    -Dsluice.state="$SLUICE_STATE_DIR" \
    -cp "$(kafka_libs_dir)/*" kafka.Kafka "$(kafka_node_dir "$n")/server.properties"
}

# Starts node N and waits until it answers; the first node of a cluster starts the others too
# (without waiting for them), so that a majority of its controllers comes up.
kafka_node_start() {
  local n=$1 brokers other
  brokers=$(kafka_brokers)
  kafka_keep_choice SLUICE_STACK_KAFKA_BROKERS kafka-brokers "$brokers"
  kafka_keep_choice SLUICE_STACK_SECURE kafka-secure "$(kafka_secure)"
  kafka_node_launch "$n"
  if [ "$n" -eq 1 ]; then
    for ((other = 2; other <= brokers; other++)); do
      kafka_node_launch "$other"
    done
  fi
  wait_ready "$(kafka_service_of "$n")" 180
}

# The SCRAM credentials of the secured listeners' user, set through the plain listener, whose
# principal is a super user; once per data folder (a stamp beside it). The user holds no ACL:
# each test grants what it needs.
kafka_provision_secure() {
  [ "$(kafka_secure)" = 1 ] || return 0
  local mechanism stamp
  stamp="$(kafka_node_dir 1)/scram-user.$KAFKA_SASL_USER"
  if [ ! -f "$stamp" ]; then
    # One mechanism per request: Kafka refuses two changes of one user's credentials in one.
    for mechanism in SCRAM-SHA-512 SCRAM-SHA-256; do
      "$SLUICE_ROOT/stack/kafka-tool" configs --bootstrap-server "$(kafka_address)" --alter \
        --entity-type users --entity-name "$KAFKA_SASL_USER" \
        --add-config "$mechanism=[password=$KAFKA_SASL_PASSWORD]" >>"$LOG_DIR/kafka.log" 2>&1 ||
        die "kafka: creating the $mechanism user $KAFKA_SASL_USER failed; see $LOG_DIR/kafka.log"
    done
    touch "$stamp"
  fi
  say "kafka: secured listeners SASL_SSL $(kafka_secure_bootstrap sasl_ssl) (user $KAFKA_SASL_USER) and SSL $(kafka_secure_bootstrap ssl) (mTLS); CA $TLS_DIR/ca.pem"
}

kafka_start() { kafka_node_start 1; }
kafka2_start() { kafka_node_start 2; }
kafka3_start() { kafka_node_start 3; }

kafka_stop() { stop_service kafka; }
kafka2_stop() { stop_service kafka2; }
kafka3_stop() { stop_service kafka3; }

# Stops every node of the cluster at once (see stop_services).
kafka_cluster_stop() { stop_services kafka kafka2 kafka3; }
