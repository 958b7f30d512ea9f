//! Settings that take one of a few names: each is an enum, parsed once where the configuration
//! is read, so a wrong name is refused at start with the names that are right, and code past
//! the loader never parses a string again. Every one parses through [`Choice::from_name`].

use serde::{Deserialize, Serialize};

/// A setting that takes one of a few names.
pub trait Choice: Copy + 'static {
    /// What the setting is, in an error: `compatibility level`, `compression`, …
    const KIND: &'static str;
    /// Every value, in the order the error lists them.
    const ALL: &'static [Self];

    /// The value as the setting writes it.
    fn name(self) -> &'static str;

    /// The value named `text`, in any case; otherwise an error listing the names that are right.
    fn from_name(text: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|choice| choice.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|choice| choice.name()).collect();
                format!("unknown {} `{text}`: use {}", Self::KIND, names.join(", "))
            })
    }
}

/// `Display`, `FromStr` and `TryFrom<String>` (what serde's `try_from` uses) of a [`Choice`],
/// all by its names.
macro_rules! choice_conversions {
    ($choice:ty) => {
        impl std::fmt::Display for $choice {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(Choice::name(*self))
            }
        }

        impl std::str::FromStr for $choice {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                <$choice as Choice>::from_name(text)
            }
        }

        impl TryFrom<String> for $choice {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                <$choice as Choice>::from_name(&text)
            }
        }
    };
}

/// How a subject's new versions must relate to its earlier ones, as Confluent names the levels
/// (`producer.compatibility`, and the registry API's `compatibilityLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", try_from = "String")]
pub enum CompatibilityLevel {
    /// Anything may be registered.
    None,
    /// New readers can read data written with the previous version.
    Backward,
    /// New readers can read data written with any earlier version.
    BackwardTransitive,
    /// Previous readers can read data written with the new version.
    Forward,
    /// Every earlier reader can read data written with the new version.
    ForwardTransitive,
    /// Both backward and forward with the previous version.
    Full,
    /// Both backward and forward with every earlier version.
    FullTransitive,
}

impl Choice for CompatibilityLevel {
    const KIND: &'static str = "compatibility level";
    /// In the order Confluent lists them.
    const ALL: &'static [Self] = &[
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    /// The level as Confluent writes it: `BACKWARD`, `FULL_TRANSITIVE`, …
    fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }
}

choice_conversions!(CompatibilityLevel);

/// Compression of the producer's record batches (`producer.compression`), as librdkafka's
/// `compression.type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Compression {
    /// Batches as they are.
    None,
    /// gzip: small, slow.
    Gzip,
    /// Snappy: fast, larger.
    Snappy,
    /// LZ4: fast and small (the default).
    Lz4,
    /// Zstandard: smallest at a moderate cost.
    Zstd,
}

impl Choice for Compression {
    const KIND: &'static str = "compression";
    const ALL: &'static [Self] = &[Self::None, Self::Gzip, Self::Snappy, Self::Lz4, Self::Zstd];

    /// The value of librdkafka's and the Java client's `compression.type`.
    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }
}

choice_conversions!(Compression);

/// What a record that cannot be processed does (`consumer.on_error`, `producer.on_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum OnError {
    /// Goes to the dead-letter topic with its reason; the pipeline goes on.
    #[default]
    DeadLetter,
    /// Stops the process with its reason; nothing after it is processed.
    Fail,
}

impl Choice for OnError {
    const KIND: &'static str = "error policy";
    const ALL: &'static [Self] = &[Self::DeadLetter, Self::Fail];

    fn name(self) -> &'static str {
        match self {
            Self::DeadLetter => "dead_letter",
            Self::Fail => "fail",
        }
    }
}

choice_conversions!(OnError);

/// The Kafka consumer group protocol the members speak (`consumer.group_protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum GroupProtocol {
    /// The broker assigns partitions and moves them one heartbeat at a time (KIP-848).
    #[default]
    Consumer,
    /// Members rejoin the group for every change and the leader assigns; brokers before 4.0.
    Classic,
}

impl Choice for GroupProtocol {
    const KIND: &'static str = "group protocol";
    const ALL: &'static [Self] = &[Self::Consumer, Self::Classic];

    /// The value of librdkafka's and the Java client's `group.protocol`.
    fn name(self) -> &'static str {
        match self {
            Self::Consumer => "consumer",
            Self::Classic => "classic",
        }
    }
}

choice_conversions!(GroupProtocol);

/// How every Kafka client sluice makes talks to the brokers (`kafka.security_protocol`), as
/// Kafka names the protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", try_from = "String")]
pub enum SecurityProtocol {
    /// Neither encrypted nor authenticated: a local or private network only.
    #[default]
    Plaintext,
    /// TLS: the brokers prove who they are; a client certificate proves who sluice is (mTLS).
    Ssl,
    /// SASL authentication without encryption: the password crosses the network in the clear
    /// with `PLAIN`.
    SaslPlaintext,
    /// SASL authentication over TLS: what hosted Kafka services ask for.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether the connection is TLS, so the `kafka.ca_file`, certificate and hostname
    /// settings apply.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether the client logs in with SASL, so the `kafka.sasl_*` settings apply.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl Choice for SecurityProtocol {
    const KIND: &'static str = "security protocol";
    const ALL: &'static [Self] = &[
        Self::Plaintext,
        Self::Ssl,
        Self::SaslPlaintext,
        Self::SaslSsl,
    ];

    /// The value of librdkafka's and the Java client's `security.protocol`.
    fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }
}

choice_conversions!(SecurityProtocol);

/// How a SASL client proves its password (`kafka.sasl_mechanism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String")]
pub enum SaslMechanism {
    /// The password itself, sent to the broker (protected only by TLS).
    #[default]
    #[serde(rename = "PLAIN")]
    Plain,
    /// A salted challenge with SHA-256: the password never crosses the network.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// A salted challenge with SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl Choice for SaslMechanism {
    const KIND: &'static str = "SASL mechanism";
    const ALL: &'static [Self] = &[Self::Plain, Self::ScramSha256, Self::ScramSha512];

    /// The value of librdkafka's `sasl.mechanisms` and the Java client's `sasl.mechanism`.
    fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

choice_conversions!(SaslMechanism);

/// Whether and how MySQL connections use TLS (`mysql.tls_mode`), as MySQL's `--ssl-mode` and
/// sqlx name the modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum MysqlTlsMode {
    /// Never TLS.
    Disabled,
    /// TLS when the server offers it, plain otherwise, the server's certificate not checked
    /// (the client's default).
    #[default]
    Preferred,
    /// TLS or no connection; the server's certificate is not checked.
    Required,
    /// TLS with a server certificate signed by a trusted authority (`mysql.ca_file`).
    VerifyCa,
    /// `verify_ca`, and the certificate names the host connected to (`mysql.host`).
    VerifyIdentity,
}

impl MysqlTlsMode {
    /// Whether the server's certificate is checked against a certificate authority.
    pub fn verifies_certificate(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyIdentity)
    }
}

impl Choice for MysqlTlsMode {
    const KIND: &'static str = "MySQL TLS mode";
    const ALL: &'static [Self] = &[
        Self::Disabled,
        Self::Preferred,
        Self::Required,
        Self::VerifyCa,
        Self::VerifyIdentity,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Preferred => "preferred",
            Self::Required => "required",
            Self::VerifyCa => "verify_ca",
            Self::VerifyIdentity => "verify_identity",
        }
    }
}

choice_conversions!(MysqlTlsMode);

/// What one step of the record transformation does (`transform.steps[].op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum TransformOp {
    /// The field's text in upper case.
    UpperCase,
    /// A percentage taken off the field's number.
    PercentOff,
    /// The field under another name.
    Rename,
    /// The field left out.
    Drop,
    /// The field's value replaced by its hash.
    Mask,
}

impl Choice for TransformOp {
    const KIND: &'static str = "transform step";
    const ALL: &'static [Self] = &[
        Self::UpperCase,
        Self::PercentOff,
        Self::Rename,
        Self::Drop,
        Self::Mask,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::UpperCase => "upper_case",
            Self::PercentOff => "percent_off",
            Self::Rename => "rename",
            Self::Drop => "drop",
            Self::Mask => "mask",
        }
    }
}

choice_conversions!(TransformOp);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of `C` reads back from its name, in any case, through serde too.
    fn names_read_back<C>()
    where
        C: Choice + PartialEq + std::fmt::Debug + Serialize + serde::de::DeserializeOwned,
    {
        for &choice in C::ALL {
            assert_eq!(C::from_name(&choice.name().to_uppercase()), Ok(choice));
            assert_eq!(C::from_name(&choice.name().to_lowercase()), Ok(choice));
            assert_eq!(
                serde_json::to_value(choice).ok(),
                Some(choice.name().into())
            );
            let read: C = serde_json::from_value(choice.name().into()).expect("its own name");
            assert_eq!(read, choice);
        }
    }

    #[test]
    fn every_choice_reads_back_from_its_name() {
        names_read_back::<CompatibilityLevel>();
        names_read_back::<Compression>();
        names_read_back::<OnError>();
        names_read_back::<GroupProtocol>();
        names_read_back::<SecurityProtocol>();
        names_read_back::<SaslMechanism>();
        names_read_back::<MysqlTlsMode>();
        names_read_back::<TransformOp>();
    }

    #[test]
    fn levels_parse_in_any_case_and_print_as_confluent_names_them() {
        for &level in CompatibilityLevel::ALL {
            assert_eq!(
                level.name().to_lowercase().parse::<CompatibilityLevel>(),
                Ok(level)
            );
            assert_eq!(level.to_string(), level.name());
        }
        let error = "backwards"
            .parse::<CompatibilityLevel>()
            .expect_err("unknown");
        assert!(error.contains("unknown compatibility level"), "{error}");
        assert!(error.contains("FULL_TRANSITIVE"), "{error}");
    }

    #[test]
    fn a_wrong_name_is_answered_with_the_right_ones() {
        let error = Compression::try_from("brotli".to_owned()).expect_err("unknown");
        assert!(error.contains("zstd"), "{error}");
        let error = OnError::from_name("skip").expect_err("unknown");
        assert_eq!(error, "unknown error policy `skip`: use dead_letter, fail");
        let error = GroupProtocol::from_name("eager").expect_err("unknown");
        assert!(error.contains("consumer, classic"), "{error}");
        let read: Result<GroupProtocol, _> = serde_json::from_value("eager".into());
        assert!(read.is_err());
    }
}

/// Where the producer's writer schema comes from (`producer.schema_from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum WriterSchemaSource {
    /// The Avro schema in `producer.schema_file`, each field read from the column of its name.
    #[default]
    File,
    /// A record built from the table's columns, rebuilt when the table changes.
    Table,
}

impl Choice for WriterSchemaSource {
    const KIND: &'static str = "writer schema source";
    const ALL: &'static [Self] = &[Self::File, Self::Table];

    fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Table => "table",
        }
    }
}

choice_conversions!(WriterSchemaSource);

/// Where a member's reader schema comes from (`consumer.reader_schema_from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum ReaderSchemaSource {
    /// The Avro schema in `consumer.reader_schema_file`, pinned.
    #[default]
    File,
    /// The latest version of the topic's subject in the registry, followed as it changes.
    Latest,
}

impl Choice for ReaderSchemaSource {
    const KIND: &'static str = "reader schema source";
    const ALL: &'static [Self] = &[Self::File, Self::Latest];

    fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Latest => "latest",
        }
    }
}

choice_conversions!(ReaderSchemaSource);

/// Where the producer finds the table's changes (`producer.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ChangeSource {
    /// Polls the rows changed since the watermark, by `timestamp_column`.
    #[default]
    Timestamp,
    /// Reads every committed change from the server's row-based binary log.
    Binlog,
}

impl Choice for ChangeSource {
    const KIND: &'static str = "change source";
    const ALL: &'static [Self] = &[Self::Timestamp, Self::Binlog];

    fn name(self) -> &'static str {
        match self {
            Self::Timestamp => "timestamp",
            Self::Binlog => "binlog",
        }
    }
}

choice_conversions!(ChangeSource);
