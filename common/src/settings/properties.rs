//! librdkafka properties passed through as they are (`kafka.producer_properties`,
//! `kafka.consumer_properties`), for what sluice has no setting of its own.
//!
//! A property's name has dots (`fetch.wait.max.ms`), which the configuration layers read as
//! nested keys: `--set kafka.consumer_properties.fetch.wait.max.ms=50` and a TOML table
//! `[kafka.consumer_properties]` with `fetch.wait.max.ms = 50` both arrive as nested tables.
//! They are flattened back into one map from the dotted name to its value as text, which is
//! how librdkafka takes every value. Properties that sluice sets itself, because a setting of
//! its own says so or because a guarantee rests on them, are refused with the reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::load::dotted;

/// librdkafka properties by name, values as librdkafka reads them.
pub type ClientProperties = BTreeMap<String, String>;

/// Reads a table of properties at any depth of nesting into dotted names.
pub(super) fn flattened<'de, D>(deserializer: D) -> Result<ClientProperties, D::Error>
where
    D: Deserializer<'de>,
{
    let table = toml::Table::deserialize(deserializer)?;
    let mut properties = ClientProperties::new();
    flatten_into("", &toml::Value::Table(table), &mut properties)
        .map_err(serde::de::Error::custom)?;
    Ok(properties)
}

fn flatten_into(
    prefix: &str,
    value: &toml::Value,
    properties: &mut ClientProperties,
) -> Result<(), String> {
    let text = match value {
        toml::Value::Table(table) => {
            for (name, inner) in table {
                flatten_into(&dotted(prefix, name), inner, properties)?;
            }
            return Ok(());
        }
        toml::Value::String(text) => text.clone(),
        toml::Value::Integer(number) => number.to_string(),
        toml::Value::Float(number) => number.to_string(),
        toml::Value::Boolean(flag) => flag.to_string(),
        toml::Value::Datetime(_) | toml::Value::Array(_) => {
            return Err(format!(
                "librdkafka property `{prefix}` must be a string, a number or a boolean"
            ))
        }
    };
    properties.insert(prefix.to_owned(), text);
    Ok(())
}

/// Why sluice sets a property itself: the setting to use instead, or the guarantee it keeps.
pub(super) fn reserved(property: &str) -> Option<&'static str> {
    let reason = match property {
        "bootstrap.servers" | "metadata.broker.list" => "set kafka.bootstrap_servers",
        "security.protocol" => "set kafka.security_protocol",
        "sasl.mechanism" | "sasl.mechanisms" => "set kafka.sasl_mechanism",
        "sasl.username" => "set kafka.sasl_username",
        "sasl.password" => "set kafka.sasl_password",
        "ssl.ca.location" | "ssl.ca.pem" => "set kafka.ca_file",
        "ssl.certificate.location" | "ssl.certificate.pem" => "set kafka.certificate_file",
        "ssl.key.location" | "ssl.key.pem" => "set kafka.key_file",
        "ssl.key.password" => "set kafka.key_password",
        "ssl.endpoint.identification.algorithm" => "set kafka.verify_hostname",
        "socket.timeout.ms" => "set kafka.request_timeout_secs",
        "transactional.id" => "set producer.transactional_id",
        "linger.ms" | "queue.buffering.max.ms" => "set producer.linger_ms",
        "compression.type" | "compression.codec" => "set producer.compression",
        "group.id" => "set consumer.group_id",
        "group.instance.id" | "client.id" => "set consumer.member",
        "group.protocol" => "set consumer.group_protocol",
        "enable.idempotence" | "acks" | "request.required.acks" | "isolation.level"
        | "enable.auto.commit" | "enable.auto.offset.store" | "auto.offset.reset"
        | "transaction.timeout.ms" | "message.max.bytes" => {
            "sluice's delivery guarantees rest on the value it sets"
        }
        "partitioner" => "records are keyed to partitions as Java clients do (murmur2), so the topic's readers agree",
        "statistics.interval.ms" => "sluice's lag metrics are read from librdkafka's statistics",
        _ => return None,
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "flattened")]
        properties: ClientProperties,
    }

    #[test]
    fn nested_and_quoted_names_flatten_to_the_same_dotted_name() {
        let read: Holder = toml::from_str(
            "[properties]\nfetch.wait.max.ms = 50\n\"socket.keepalive.enable\" = true\n\
             client.rack = \"eu-1a\"\n",
        )
        .expect("valid TOML");
        let expected: ClientProperties = [
            ("client.rack", "eu-1a"),
            ("fetch.wait.max.ms", "50"),
            ("socket.keepalive.enable", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(read.properties, expected);
    }

    #[test]
    fn a_list_is_no_property_value() {
        let error = toml::from_str::<Holder>("[properties]\n\"debug\" = [\"broker\"]\n")
            .expect_err("a list");
        assert!(
            error.to_string().contains("`debug` must be a string"),
            "{error}"
        );
    }

    #[test]
    fn properties_sluice_sets_are_reserved_with_a_reason() {
        assert_eq!(reserved("sasl.password"), Some("set kafka.sasl_password"));
        assert!(reserved("isolation.level").is_some_and(|r| r.contains("guarantees")));
        assert_eq!(reserved("fetch.wait.max.ms"), None);
    }
}
