# Prometheus from Debian's package, scraping the producer and consumers `make run` starts, with
# sluice's alert rules loaded. Its data lives under the state folder.
# shellcheck shell=bash

PROMETHEUS_DIR=$SLUICE_STATE_DIR/prometheus

prometheus_address() { printf 'http://127.0.0.1:%s' "$PROMETHEUS_PORT"; }

prometheus_ready() { curl -fsS --max-time 3 -o /dev/null "$(prometheus_address)/-/ready" 2>/dev/null; }

prometheus_start() {
  require_free_port prometheus "$PROMETHEUS_PORT" SLUICE_STACK_PROMETHEUS_PORT
  mkdir -p "$PROMETHEUS_DIR/data" "$LOG_DIR"
  sed "s#@ROOT@#$SLUICE_ROOT#g" "$SLUICE_ROOT/stack/config/prometheus.yml" >"$PROMETHEUS_DIR/prometheus.yml"
  start_detached prometheus "$(command -v prometheus)" \
    --config.file="$PROMETHEUS_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --storage.tsdb.retention.time=7d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --web.enable-lifecycle
  wait_ready prometheus 60
}

prometheus_stop() { stop_service prometheus; }
