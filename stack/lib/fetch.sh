# Installs and downloads what the stack runs on. Downloads land in $SLUICE_CACHE_DIR (and
# Maven's ~/.m2), outside the clone, so every later clone on this machine reuses them.
# shellcheck shell=bash

# Installs Debian packages that provide the given commands, only when one is missing.
# Arguments: pairs of "command package".
ensure_commands() {
  local missing=() command package
  while [ $# -ge 2 ]; do
    command=$1 package=$2
    shift 2
    command -v "$command" >/dev/null || [ -x "/usr/sbin/$command" ] || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}

ensure_stack_packages() {
  ensure_commands mariadbd mariadb-server mariadb mariadb-client curl curl mvn maven java openjdk-17-jre-headless \
    prometheus prometheus openssl openssl
  ensure_openssl_headers
}

# librdkafka's TLS and SCRAM are built against the system's OpenSSL: its headers and static
# libraries (the static image links them) come with Debian's libssl-dev.
ensure_openssl_headers() {
  pkg-config --exists openssl 2>/dev/null && return 0
  ensure_commands pkg-config pkg-config
  pkg-config --exists openssl 2>/dev/null && return 0
  say "installing Debian packages: libssl-dev"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libssl-dev >/dev/null ||
    die "apt-get install libssl-dev failed"
}

# The folder holding Kafka's jars, keyed by the pom's content so an edited pom refetches.
kafka_libs_dir() {
  local key
  key=$(sha256sum "$SLUICE_ROOT/stack/pom.xml" | cut -c1-12)
  printf '%s/kafka-%s-%s/libs' "$SLUICE_CACHE_DIR" "$KAFKA_VERSION" "$key"
}

ensure_kafka_jars() {
  local libs
  libs=$(kafka_libs_dir)
  [ -f "$libs/.complete" ] && return 0
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (once per machine)"
  maven_fetch "$libs" dependency:copy-dependencies -f "$SLUICE_ROOT/stack/pom.xml"
}

# Runs one Maven goal that writes into a fresh folder, then moves the folder to $1, marked
# complete, so an interrupted download is never mistaken for a finished one. The goal gets
# -DoutputDirectory; further arguments go to mvn as they are.
maven_fetch() {
  local dest=$1 tmp
  shift
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  mvn -q -B "$@" -DoutputDirectory="$tmp" >"$tmp.log" 2>&1 ||
    die "Maven could not resolve $* from Maven Central; see $tmp.log"
  touch "$tmp/.complete"
  rm -rf "$dest" "$tmp.log"
  mv "$tmp" "$dest"
}

apicurio_dir() { printf '%s/apicurio-registry-%s' "$SLUICE_CACHE_DIR" "$APICURIO_VERSION"; }

ensure_apicurio() {
  local dir tmp archive
  dir=$(apicurio_dir)
  [ -f "$dir/.complete" ] && return 0
  say "fetching Apicurio Registry $APICURIO_VERSION from Maven Central (once per machine, ~160 MB)"
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/download"
  mvn -q -B -f "$SLUICE_ROOT/stack/pom.xml" dependency:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$tmp/download" >"$tmp.log" 2>&1 ||
    die "could not download Apicurio Registry with Maven; see $tmp.log"
  archive=$(find "$tmp/download" -name '*.tar.gz' | head -n 1)
  tar -xzf "$archive" -C "$tmp" || die "could not unpack $archive"
  rm -rf "$tmp/download" "$tmp.log"
  [ -f "$tmp/quarkus-run.jar" ] || die "unexpected Apicurio layout in $tmp: no quarkus-run.jar"
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

# What the test suite needs beyond the stack: Debian's docker-compose validates docker/ without
# a Docker engine; Chromium opens the console page headless and takes its screenshot.
ensure_test_packages() {
  ensure_commands docker-compose docker-compose chromium chromium
  ensure_kubernetes_validate
  ensure_duckdb
}

# PyPI's kubernetes-validate (it bundles the Kubernetes JSON schemas, so manifests are checked
# offline) in a virtual environment of the cache: $SLUICE_CACHE_DIR/kubernetes-validate.
KUBERNETES_VALIDATE_VERSION=1.37.0
ensure_kubernetes_validate() {
  local venv=$SLUICE_CACHE_DIR/kubernetes-validate
  if "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KUBERNETES_VALIDATE_VERSION"; then
    return 0
  fi
  say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" ||
    die "pip install kubernetes-validate failed"
}

# PyPI's duckdb, the loader the segment tests read the output folder with, in a virtual
# environment of the cache: $SLUICE_CACHE_DIR/duckdb.
DUCKDB_VERSION=2.0.1
ensure_duckdb() {
  local venv=$SLUICE_CACHE_DIR/duckdb
  if "$venv/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
    return 0
  fi
  say "installing duckdb $DUCKDB_VERSION from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet "duckdb==$DUCKDB_VERSION" || die "pip install duckdb failed"
}
