# Apicurio Registry, its runnable distribution from Maven Central, serving the Confluent API at
# /apis/ccompat/v7. Storage is `kafkasql`: a journal topic on our Kafka, as Confluent's registry
# keeps `_schemas`, so schema ids survive restarts and never change under records in Kafka. On
# the three-broker cluster the journal gets the brokers' default replication (3, with
# min.insync.replicas 2; Apicurio passes its own topic properties on as topic configs, which
# refuse `replication.factor`).
# shellcheck shell=bash

registry_url() { printf 'http://127.0.0.1:%s/apis/ccompat/v7' "$REGISTRY_PORT"; }
registry_address() { registry_url; }

# Apicurio 3.3 is compiled for Java 21, newer than the Java 17 Kafka runs on.
registry_java() {
  find_java 21 || die "registry: Apicurio Registry $APICURIO_VERSION needs Java 21 or newer and none was found (looked at SLUICE_JAVA, JAVA_HOME, PATH and /usr/lib/jvm); install one and point SLUICE_JAVA at its bin/java"
}

# Ready means: storage replayed from the Kafka journal (the API answers a few seconds before
# that, and meanwhile says "not found" to ids that exist), and the Confluent API enforcing
# BACKWARD compatibility, as Confluent's registry does.
registry_ready() {
  local config
  curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$REGISTRY_MANAGEMENT_PORT/health/ready" 2>/dev/null || return 1
  config=$(curl -fsS --max-time 5 "$(registry_url)/config" 2>/dev/null) || return 1
  case $config in
    *BACKWARD*) return 0 ;;
    *) return 1 ;;
  esac
}

registry_start() {
  require_free_port registry "$REGISTRY_PORT" SLUICE_STACK_REGISTRY_PORT
  require_free_port registry "$REGISTRY_MANAGEMENT_PORT" SLUICE_STACK_REGISTRY_MANAGEMENT_PORT
  port_open "$KAFKA_PORT" || die "registry: its storage is Kafka, which is not up at $(kafka_address)"

  local java
  java=$(registry_java)
  mkdir -p "$SLUICE_STATE_DIR/registry"
  # shellcheck disable=SC2086
  start_detached registry "$java" $REGISTRY_HEAP -XX:+UseG1GC \
    -Dsluice.state="$SLUICE_STATE_DIR" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.storage.kind=kafkasql \
    -Dapicurio.kafkasql.bootstrap.servers="$(kafka_bootstrap)" \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Djava.io.tmpdir="$SLUICE_STATE_DIR/registry" \
    -jar "$(apicurio_dir)/quarkus-run.jar"
  wait_ready registry 180
}

registry_stop() { stop_service registry; }
