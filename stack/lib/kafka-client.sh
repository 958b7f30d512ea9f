# The Kafka connection settings of the binaries, as a Java client's properties, so that Kafka's
# own tools (stack/kafka-tool --command-config) reach the brokers the pipeline reaches: the
# same security protocol, SASL login, CA, client certificate and hostname check. Values come
# from SLUICE__KAFKA__* in the environment, else from the shipped sluice.toml, as for the
# binaries. librdkafka's pass-through properties have no Java equivalent and are not carried.
# shellcheck shell=bash

# The setting `kafka.$1`: the environment's SLUICE__KAFKA__<NAME>, else sluice.toml's value.
kafka_setting() {
  local name="SLUICE__KAFKA__${1^^}"
  if [ -n "${!name+set}" ]; then printf '%s' "${!name}"; else sluice_default kafka "$1"; fi
}

# A value inside a JAAS option's double quotes, then inside a properties file: backslashes and
# quotes escaped for JAAS, then every backslash doubled for the properties reader.
jaas_quoted() {
  local value=${1//\\/\\\\}
  value=${value//\"/\\\"}
  printf '%s' "${value//\\/\\\\}"
}

# Writes the client properties into folder $1 (created 0700; its files hold the SASL password
# and may hold a key) and prints the properties file's path.
kafka_client_properties() {
  local dir=$1 file protocol mechanism module ca certificate key key_password
  mkdir -p "$dir" && chmod 700 "$dir"
  file=$dir/client.properties
  protocol=$(kafka_setting security_protocol)
  : >"$file"
  printf 'security.protocol=%s\n' "${protocol:-PLAINTEXT}" >>"$file"
  case $protocol in
    SASL_*)
      mechanism=$(kafka_setting sasl_mechanism)
      case $mechanism in
        PLAIN) module=org.apache.kafka.common.security.plain.PlainLoginModule ;;
        *) module=org.apache.kafka.common.security.scram.ScramLoginModule ;;
      esac
      printf 'sasl.mechanism=%s\n' "$mechanism" >>"$file"
      printf 'sasl.jaas.config=%s required username="%s" password="%s";\n' "$module" \
        "$(jaas_quoted "$(kafka_setting sasl_username)")" \
        "$(jaas_quoted "$(kafka_setting sasl_password)")" >>"$file"
      ;;
  esac
  case $protocol in
    SSL | SASL_SSL)
      ca=$(kafka_setting ca_file)
      if [ -n "$ca" ]; then
        printf 'ssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$ca" >>"$file"
      fi
      if [ "$(kafka_setting verify_hostname)" = false ]; then
        printf 'ssl.endpoint.identification.algorithm=\n' >>"$file"
      fi
      certificate=$(kafka_setting certificate_file)
      key=$(kafka_setting key_file)
      key_password=$(kafka_setting key_password)
      if [ -n "$certificate" ] && [ -n "$key" ]; then
        # Java reads a PEM key store from one file: the key (PKCS#8) and then its certificate.
        if [ -n "$key_password" ] || grep -q 'BEGIN PRIVATE KEY' "$key"; then
          cat "$key" >"$dir/keystore.pem"
        else
          openssl pkcs8 -topk8 -nocrypt -in "$key" >"$dir/keystore.pem"
        fi
        cat "$certificate" >>"$dir/keystore.pem"
        printf 'ssl.keystore.type=PEM\nssl.keystore.location=%s\n' "$dir/keystore.pem" >>"$file"
        if [ -n "$key_password" ]; then
          printf 'ssl.key.password=%s\n' "${key_password//\\/\\\\}" >>"$file"
        fi
      fi
      ;;
  esac
  printf '%s' "$file"
}
