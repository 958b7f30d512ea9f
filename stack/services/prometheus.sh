# Prometheus from Debian's package, scraping the producer and consumers `make run` starts, with
# sluice's alert rules loaded and its console page (/consoles/sluice.html, from
# stack/config/consoles and console_libraries). Its data lives under the state folder.
# shellcheck shell=bash

PROMETHEUS_DIR=$SLUICE_STATE_DIR/prometheus

prometheus_address() { printf 'http://127.0.0.1:%s' "$PROMETHEUS_PORT"; }

prometheus_ready() { curl -fsS --max-time 3 -o /dev/null "$(prometheus_address)/-/ready" 2>/dev/null; }

prometheus_console_address() { printf '%s/consoles/sluice.html' "$(prometheus_address)"; }

# A Prometheus started without the console page (by an earlier version of the stack).
prometheus_outdated() { ! curl -fsS --max-time 3 -o /dev/null "$(prometheus_console_address)" 2>/dev/null; }

prometheus_start() {
  require_free_port prometheus "$PROMETHEUS_PORT" SLUICE_STACK_PROMETHEUS_PORT
  mkdir -p "$PROMETHEUS_DIR/data" "$LOG_DIR"
  sed "s#@ROOT@#$SLUICE_ROOT#g" "$SLUICE_ROOT/stack/config/prometheus.yml" >"$PROMETHEUS_DIR/prometheus.yml"
  start_detached prometheus "$(command -v prometheus)" \
    --config.file="$PROMETHEUS_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --storage.tsdb.retention.time=7d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --web.console.templates="$SLUICE_ROOT/stack/config/consoles" \
    --web.console.libraries="$SLUICE_ROOT/stack/config/console_libraries" \
    --web.enable-lifecycle
  wait_ready prometheus 60
}

prometheus_stop() { stop_service prometheus; }
