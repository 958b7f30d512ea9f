//! Reading the dead-letter topic from its start to its end as of now: which keys have a dead
//! letter, by stage, so that a row missing from the files because it could not be processed is
//! told apart from a row lost.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::VerifyError;
use rdkafka::message::{Headers, Message};
use sluice_common::acls::{read_refusal, Acl};
use sluice_common::dead_letter::STAGE_HEADER;
use sluice_common::kafka::topic_reader::read_to_end;
use sluice_common::settings::KafkaSettings;

/// What the dead-letter topic holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeadLetterKeys {
    /// Record keys with at least one dead letter.
    pub keys: HashSet<Vec<u8>>,
    /// Dead letters by stage header.
    pub by_stage: BTreeMap<String, u64>,
    /// Dead letters without a key.
    pub without_key: u64,
}

impl DeadLetterKeys {
    /// Every dead letter read.
    pub fn total(&self) -> u64 {
        self.by_stage.values().sum()
    }
}

/// Reads `settings.dlq_topic` up to its end as of the call (committed records only); a topic
/// that does not exist holds nothing. A refusal names the ACL of `acls` it lacks.
pub fn read(
    settings: &KafkaSettings,
    acls: &[Acl],
    patience: Duration,
) -> Result<DeadLetterKeys, VerifyError> {
    let mut found = DeadLetterKeys::default();
    let read = read_to_end(settings, &settings.dlq_topic, patience, |message| {
        let stage = message
            .headers()
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == STAGE_HEADER)
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        *found.by_stage.entry(stage).or_default() += 1;
        match message.key() {
            Some(key) => {
                found.keys.insert(key.to_vec());
            }
            None => found.without_key += 1,
        }
    });
    match read {
        Ok(()) => Ok(found),
        Err(error) => Err(match read_refusal(acls, error) {
            Ok(missing) => VerifyError::MissingAcl(missing),
            Err(error) => VerifyError::DeadLetters(error),
        }),
    }
}
