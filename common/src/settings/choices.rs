//! Settings that take one of a few names: each is an enum, parsed once where the configuration
//! is read, so a wrong name is refused at start with the names that are right, and code past
//! the loader never parses a string again.

use serde::{Deserialize, Serialize};

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

impl CompatibilityLevel {
    /// Every level, in the order Confluent lists them.
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    /// The level as Confluent writes it: `BACKWARD`, `FULL_TRANSITIVE`, …
    pub fn name(self) -> &'static str {
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

impl std::fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CompatibilityLevel {
    type Err = String;

    /// Parses a level as Confluent names it, in any case: `backward`, `FULL_TRANSITIVE`, …
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|level| level.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|l| l.name()).collect();
                format!(
                    "unknown compatibility level `{text}`: use {}",
                    names.join(", ")
                )
            })
    }
}

impl TryFrom<String> for CompatibilityLevel {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

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

impl Compression {
    /// Every codec.
    pub const ALL: [Self; 5] = [Self::None, Self::Gzip, Self::Snappy, Self::Lz4, Self::Zstd];

    /// The value of librdkafka's and the Java client's `compression.type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for Compression {
    type Error = String;

    /// Parsed by hand so that a wrong value is answered with the ones that are right.
    fn try_from(name: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|codec| codec.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.name()).collect();
                format!("`{name}` is not a compression: use {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_any_case_and_print_as_confluent_names_them() {
        for level in CompatibilityLevel::ALL {
            assert_eq!(
                level.name().to_lowercase().parse::<CompatibilityLevel>(),
                Ok(level)
            );
            assert_eq!(serde_json::to_value(level).ok(), Some(level.name().into()));
            let read: CompatibilityLevel =
                serde_json::from_value(level.name().into()).expect("the API's name");
            assert_eq!(read, level);
        }
        let error = "backwards"
            .parse::<CompatibilityLevel>()
            .expect_err("unknown");
        assert!(error.contains("FULL_TRANSITIVE"), "{error}");
    }

    #[test]
    fn compressions_are_librdkafka_names() {
        for codec in Compression::ALL {
            assert_eq!(Compression::try_from(codec.name().to_owned()), Ok(codec));
        }
        let error = Compression::try_from("brotli".to_owned()).expect_err("unknown");
        assert!(error.contains("zstd"), "{error}");
    }
}
