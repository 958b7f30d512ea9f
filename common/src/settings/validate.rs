//! Checks on values that are well-typed but cannot work, made once at start so the pipeline
//! never meets them deep inside its loop.

use super::error::unworkable;
use super::{Settings, SettingsError};

impl Settings {
    /// The first value that cannot work, with its key and what is wrong.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let positive = [
            ("kafka.partitions", i64::from(self.kafka.partitions)),
            ("producer.batch_size", i64::from(self.producer.batch_size)),
            (
                "producer.poll_interval_ms",
                clamp(self.producer.poll_interval_ms),
            ),
            (
                "consumer.commit_interval_ms",
                clamp(self.consumer.commit_interval_ms),
            ),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err(unworkable(
                    key,
                    format!("must be greater than 0, got {value}"),
                ));
            }
        }
        for (key, value) in [
            ("kafka.replication_factor", self.kafka.replication_factor),
            ("kafka.min_insync_replicas", self.kafka.min_insync_replicas),
        ] {
            if value < 0 {
                return Err(unworkable(
                    key,
                    format!("must be 0 (chosen from the cluster) or more, got {value}"),
                ));
            }
        }
        let (factor, in_sync) = (
            self.kafka.replication_factor,
            self.kafka.min_insync_replicas,
        );
        if factor > 0 && in_sync > factor {
            return Err(unworkable(
                "kafka.min_insync_replicas",
                format!(
                    "({in_sync}) must not exceed kafka.replication_factor ({factor}): no write \
                     could ever be acknowledged"
                ),
            ));
        }
        if self.producer.standby && !self.producer.exactly_once {
            return Err(unworkable(
                "producer.standby",
                "needs producer.exactly_once: only Kafka's fencing of the transactional id keeps \
                 a producer that lost its turn from publishing",
            ));
        }
        self.transform
            .steps(&self.producer.key_column, &self.producer.timestamp_column)?;
        super::security::check_kafka(&self.kafka)?;
        super::security::check_mysql(&self.mysql)?;
        let member = &self.consumer.member;
        if member.is_empty()
            || !member
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(unworkable(
                "consumer.member",
                format!(
                    "must be letters, digits, `-`, `_` or `.` (it names a file), got `{member}`"
                ),
            ));
        }
        Ok(())
    }
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unworkable_value_is_named_by_its_key() {
        let mut settings = Settings::default();
        assert!(settings.validate().is_ok(), "the defaults work");
        settings.kafka.partitions = 0;
        let error = settings.validate().expect_err("no partitions");
        assert!(
            matches!(&error, SettingsError::Unworkable { key, .. } if key == "kafka.partitions"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "invalid configuration: kafka.partitions must be greater than 0, got 0"
        );
        let mut settings = Settings::default();
        settings.consumer.member = "a/b".into();
        let error = settings
            .validate()
            .expect_err("a member that is no file name");
        assert!(
            error
                .to_string()
                .contains("consumer.member must be letters"),
            "{error}"
        );
    }
}
