//! Checks of the connection security settings, made at start: settings that contradict each
//! other (a CA file under `PLAINTEXT`, a certificate without its key), files that cannot be
//! read, and librdkafka properties sluice sets itself. A value that only a server can judge (a
//! wrong password, an untrusted certificate) is left to the connection, which names it.

use std::path::Path;

use super::error::unworkable;
use super::properties::{self, ClientProperties};
use super::{Choice, KafkaSettings, MysqlSettings, MysqlTlsMode, SettingsError};

/// The Kafka security settings hold together, their files can be read, and no passed-through
/// property is one sluice sets.
pub(super) fn check_kafka(kafka: &KafkaSettings) -> Result<(), SettingsError> {
    let protocol = kafka.security_protocol;
    if protocol.uses_sasl() {
        for (key, value) in [
            ("kafka.sasl_username", &kafka.sasl_username),
            ("kafka.sasl_password", &kafka.sasl_password),
        ] {
            if value.is_empty() {
                return Err(unworkable(
                    key,
                    format!("is empty, but kafka.security_protocol {protocol} logs in with SASL"),
                ));
            }
        }
    } else if !kafka.sasl_username.is_empty() {
        return Err(unworkable(
            "kafka.sasl_username",
            format!(
                "is set, but kafka.security_protocol {protocol} does not log in with SASL \
                 (SASL_SSL does)"
            ),
        ));
    }
    let tls_files = [
        ("kafka.ca_file", &kafka.ca_file),
        ("kafka.certificate_file", &kafka.certificate_file),
        ("kafka.key_file", &kafka.key_file),
    ];
    if !protocol.uses_tls() {
        if let Some((key, _)) = tls_files.iter().find(|(_, value)| !value.is_empty()) {
            return Err(unworkable(
                *key,
                format!(
                    "is set, but kafka.security_protocol {protocol} does not use TLS (SSL or \
                     SASL_SSL do)"
                ),
            ));
        }
    }
    client_certificate_pair("kafka", &kafka.certificate_file, &kafka.key_file)?;
    readable_files(&tls_files)?;
    for (key, properties) in [
        ("kafka.producer_properties", &kafka.producer_properties),
        ("kafka.consumer_properties", &kafka.consumer_properties),
    ] {
        no_reserved_property(key, properties)?;
    }
    Ok(())
}

/// The MySQL TLS settings hold together and their files can be read.
pub(super) fn check_mysql(mysql: &MysqlSettings) -> Result<(), SettingsError> {
    let files = [
        ("mysql.ca_file", &mysql.ca_file),
        ("mysql.certificate_file", &mysql.certificate_file),
        ("mysql.key_file", &mysql.key_file),
    ];
    if mysql.tls_mode == MysqlTlsMode::Disabled {
        if let Some((key, _)) = files.iter().find(|(_, value)| !value.is_empty()) {
            return Err(unworkable(
                *key,
                format!(
                    "is set, but mysql.tls_mode is {}",
                    MysqlTlsMode::Disabled.name()
                ),
            ));
        }
    }
    client_certificate_pair("mysql", &mysql.certificate_file, &mysql.key_file)?;
    readable_files(&files)
}

fn client_certificate_pair(
    section: &str,
    certificate: &str,
    key: &str,
) -> Result<(), SettingsError> {
    match (certificate.is_empty(), key.is_empty()) {
        (false, true) => Err(unworkable(
            format!("{section}.key_file"),
            format!("is empty, but {section}.certificate_file is set: a client certificate needs its key"),
        )),
        (true, false) => Err(unworkable(
            format!("{section}.certificate_file"),
            format!("is empty, but {section}.key_file is set: a key needs its certificate"),
        )),
        _ => Ok(()),
    }
}

fn readable_files(files: &[(&str, &String)]) -> Result<(), SettingsError> {
    for (key, path) in files.iter().filter(|(_, path)| !path.is_empty()) {
        if let Err(error) = std::fs::File::open(Path::new(path.as_str())) {
            return Err(unworkable(*key, format!("cannot read `{path}`: {error}")));
        }
    }
    Ok(())
}

fn no_reserved_property(key: &str, given: &ClientProperties) -> Result<(), SettingsError> {
    for name in given.keys() {
        if let Some(reason) = properties::reserved(name) {
            return Err(unworkable(
                format!("{key}.\"{name}\""),
                format!("is a property sluice sets itself: {reason}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{SaslMechanism, SecurityProtocol, Settings};
    use super::*;

    fn problem(settings: &Settings) -> String {
        settings.validate().expect_err("refused").to_string()
    }

    #[test]
    fn sasl_needs_a_user_and_a_password() {
        let mut settings = Settings::default();
        settings.kafka.security_protocol = SecurityProtocol::SaslSsl;
        settings.kafka.sasl_mechanism = SaslMechanism::ScramSha512;
        assert_eq!(
            problem(&settings),
            "invalid configuration: kafka.sasl_username is empty, but \
             kafka.security_protocol SASL_SSL logs in with SASL"
        );
        settings.kafka.sasl_username = "sluice".into();
        settings.kafka.sasl_password = "secret".into();
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn tls_files_under_a_plain_protocol_are_refused_by_name() {
        let mut settings = Settings::default();
        settings.kafka.ca_file = "/etc/hostname".into();
        assert!(problem(&settings).contains(
            "kafka.ca_file is set, but kafka.security_protocol PLAINTEXT does not use TLS"
        ));
        let mut settings = Settings::default();
        settings.mysql.tls_mode = MysqlTlsMode::Disabled;
        settings.mysql.ca_file = "/etc/hostname".into();
        assert!(problem(&settings).contains("mysql.ca_file is set, but mysql.tls_mode is disabled"));
    }

    #[test]
    fn a_certificate_needs_its_key_and_files_must_be_readable() {
        let mut settings = Settings::default();
        settings.kafka.security_protocol = SecurityProtocol::Ssl;
        settings.kafka.certificate_file = "/etc/hostname".into();
        assert!(problem(&settings).contains("kafka.key_file is empty"));
        settings.kafka.key_file = "/nonexistent/client.key".into();
        let problem = problem(&settings);
        assert!(
            problem.contains("kafka.key_file cannot read `/nonexistent/client.key`"),
            "{problem}"
        );
    }

    #[test]
    fn a_reserved_property_names_the_setting_to_use() {
        let mut settings = Settings::default();
        settings
            .kafka
            .consumer_properties
            .insert("isolation.level".into(), "read_uncommitted".into());
        assert!(problem(&settings).contains(
            "kafka.consumer_properties.\"isolation.level\" is a property sluice sets itself"
        ));
        let mut settings = Settings::default();
        settings
            .kafka
            .producer_properties
            .insert("batch.size".into(), "1000000".into());
        assert!(settings.validate().is_ok());
    }
}
