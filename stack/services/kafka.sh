# Apache Kafka in KRaft mode, its jars from Maven Central, one broker that is also the controller.
# shellcheck shell=bash

KAFKA_DIR=$SLUICE_STATE_DIR/kafka

kafka_address() { printf '127.0.0.1:%s' "$KAFKA_PORT"; }

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
kafka_ready() {
  port_open "$KAFKA_PORT" &&
    timeout 60 "$SLUICE_ROOT/stack/kafka-tool" topics --bootstrap-server "$(kafka_address)" --list >/dev/null 2>&1
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR"
  sed -e "s#@STATE@#$SLUICE_STATE_DIR#g" -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
    -e "s#@KAFKA_CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
    "$SLUICE_ROOT/stack/config/kafka-server.properties" >"$KAFKA_DIR/server.properties"
}

# The broker refuses unformatted storage; format it once, keeping the cluster id for good.
kafka_format_once() {
  [ -f "$KAFKA_DIR/data/meta.properties" ] && return 0
  local cluster_id
  cluster_id=$(kafka_class kafka.tools.StorageTool random-uuid) || die "kafka: cannot generate a cluster id"
  say "kafka: formatting storage in $KAFKA_DIR/data (cluster $cluster_id)"
  kafka_class kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" \
    >>"$LOG_DIR/kafka.log" 2>&1 || die "kafka: formatting storage failed; see $LOG_DIR/kafka.log"
}

kafka_start() {
  require_free_port kafka "$KAFKA_PORT" SLUICE_STACK_KAFKA_PORT
  require_free_port kafka "$KAFKA_CONTROLLER_PORT" SLUICE_STACK_KAFKA_CONTROLLER_PORT
  mkdir -p "$LOG_DIR"
  kafka_write_config
  kafka_format_once
  # shellcheck disable=SC2086
  start_detached kafka "$(kafka_java)" $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SLUICE_ROOT/stack/config/log4j2.properties" \
    -Dsluice.state="$SLUICE_STATE_DIR" \
    -cp "$(kafka_libs_dir)/*" kafka.Kafka "$KAFKA_DIR/server.properties"
  wait_ready kafka 120
}

kafka_stop() { stop_service kafka; }
