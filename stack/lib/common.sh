# Helpers every stack script uses: messages, process bookkeeping, waiting.
# shellcheck shell=bash

say() { printf '%s\n' "$*"; }
warn() { printf 'sluice-stack: %s\n' "$*" >&2; }
die() {
  printf 'sluice-stack: %s\n' "$*" >&2
  exit 1
}

# Runs a command as root: directly when we are root, through sudo when it needs no password.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    die "needs root to run: $* (run it yourself, then try again)"
  fi
}

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

# The pid of a service we started, if that process is still alive. The state folder's path
# must appear in its command line, so a recycled pid is never mistaken for ours.
service_pid() {
  local file pid
  file=$(pid_file "$1")
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$SLUICE_STATE_DIR" || return 1
  printf '%s' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts a command detached from this shell, its output appended to the service's log.
start_detached() {
  local service=$1
  shift
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  printf '\n=== %s: starting %s\n' "$(date -u +%FT%TZ)" "$service" >>"$LOG_DIR/$service.log"
  setsid "$@" >>"$LOG_DIR/$service.log" 2>&1 </dev/null &
  local pid=$! tries=0
  printf '%s' "$pid" >"$(pid_file "$service")"
  # Until the child has exec'd the service, its command line is this shell's, without the state
  # folder in it: service_pid would call it gone. Wait for the exec (or the child's end).
  while [ "$tries" -lt 250 ] && [ -r "/proc/$pid/cmdline" ] &&
    ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$SLUICE_STATE_DIR"; do
    sleep 0.02
    tries=$((tries + 1))
  done
}

# Waits up to $2 seconds for "${1}_ready" to succeed while the process stays alive.
wait_ready() {
  local service=$1 timeout=$2 waited=0
  until "${service}_ready"; do
    if ! service_pid "$service" >/dev/null; then
      die "$service exited while starting; see its log: $LOG_DIR/$service.log"
    fi
    if [ "$waited" -ge "$timeout" ]; then
      die "$service did not answer within ${timeout}s; see its log: $LOG_DIR/$service.log"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# Stops a service: TERM, up to 60 seconds to exit cleanly, then KILL.
stop_service() {
  local service=$1 pid waited=0
  if ! pid=$(service_pid "$service"); then
    say "$service: not running"
    rm -f "$(pid_file "$service")"
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while [ -d "/proc/$pid" ] && [ "$waited" -lt 60 ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if [ -d "/proc/$pid" ]; then
    warn "$service did not stop within 60s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$service")"
  say "$service: stopped"
}

# Stops several services at once: TERM to each, then up to 60 seconds for all to exit, then
# KILL to what is left.
stop_services() {
  local service pid waited=0 pids=()
  for service in "$@"; do
    if pid=$(service_pid "$service"); then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  while [ "$waited" -lt 60 ]; do
    local alive=0
    for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 1
    waited=$((waited + 1))
  done
  for pid in "${pids[@]}"; do
    if [ -d "/proc/$pid" ]; then
      warn "pid $pid did not stop within 60s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for service in "$@"; do
    rm -f "$(pid_file "$service")"
  done
  say "$*: stopped"
}

# Refuses to start a service whose port another process already holds; names the variable
# that moves it.
require_free_port() {
  local service=$1 port=$2 variable=$3
  if port_open "$port"; then
    die "$service: port $port on 127.0.0.1 is taken by another process; stop it, or start sluice's $service elsewhere with $variable=<port>"
  fi
}

# The major version of a java binary, e.g. 17.
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}

# The first java binary of at least the given major version.
find_java() {
  local minimum=$1 candidate major
  for candidate in "${SLUICE_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge "$minimum" ]; then
      printf '%s' "$candidate"
      return 0
    fi
  done
  return 1
}
