//! What stops a member.
//!
//! Invariant: every error here is permanent for the running member and stops it, after what it
//! wrote before is committed or left to be read again, so none loses a record. Whatever heals
//! by waiting (a server away, a full disk, a group that refused the member for a while, a stuck
//! consumer) is waited for or renewed where it happens (see `retry`, `blocked_output`,
//! `renewal`) and never becomes one of these.

use std::path::PathBuf;

use rdkafka::error::KafkaError;
use sluice_common::events::ErrorKind;
use sluice_common::kafka::TopicError;
use sluice_common::observe::ServeError;
use sluice_registry::{RegistryError, SchemaFileError};

use crate::commit::commit_error::CommitError;
use crate::commit::settle_at_start::SettleError;
use crate::output::member_lock::LockError;
use crate::output::sink::FlushError;
use crate::record::transform::TransformError;

/// Why a member stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// Another process runs as this member over its folder.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The reader schema file cannot be read or parsed.
    #[error(transparent)]
    SchemaFile(#[from] SchemaFileError),
    /// The transformation's settings are invalid.
    #[error(transparent)]
    Transform(#[from] TransformError),
    /// The registry client cannot be built from its settings.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Kafka cannot be reached in a way no wait heals (an untrusted certificate, a refused
    /// login).
    #[error("{member}: {source}")]
    Unreachable {
        /// The member.
        member: String,
        /// Why, as librdkafka saw it.
        source: Box<sluice_common::kafka::UnreachableError>,
    },
    /// Kafka refused something only an ACL allows.
    #[error("{member}: {source}")]
    MissingAcl {
        /// The member.
        member: String,
        /// The refusal and the ACL it lacks.
        source: sluice_common::acls::MissingAcl,
    },
    /// librdkafka refuses the configured connection or properties.
    #[error(transparent)]
    ClientConfig(#[from] Box<sluice_common::kafka::ClientConfigError>),
    /// A metric could not be registered (two with one name: a defect).
    #[error("registering the member's metrics")]
    Metrics(#[from] prometheus::Error),
    /// The metrics endpoint cannot be served.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The output file cannot be opened.
    #[error("cannot open the output file in {folder}", folder = folder.display())]
    OutputFile {
        /// The member's output folder.
        folder: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A topic the member writes cannot be used.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// A Kafka client cannot be created, or refused a call that is not retried.
    #[error("{member}: {what}")]
    Kafka {
        /// The member.
        member: String,
        /// The call, in words.
        what: &'static str,
        /// Kafka's error.
        source: KafkaError,
    },
    /// Kafka refused the member's transactional id.
    #[error(
        "{member}: exactly-once needs Kafka transactions, and the transactional id was refused \
         (with ACLs it needs WRITE on it; or set consumer.exactly_once = false)"
    )]
    TransactionalIdRefused {
        /// The member.
        member: String,
        /// Kafka's refusal.
        source: KafkaError,
    },
    /// The batch a crash left behind could not be settled at start.
    #[error("{member}: settling the batch left in {journal}", journal = journal.display())]
    Settle {
        /// The member.
        member: String,
        /// Its batch file.
        journal: PathBuf,
        /// Why (boxed: errors stay small).
        source: Box<SettleError>,
    },
    /// Lines could not be made durable, for a reason other than a full disk.
    #[error("{member}: {source}")]
    Output {
        /// The member.
        member: String,
        /// Why.
        #[source]
        source: FlushError,
    },
    /// The last committed batch could not be made durable before the member stopped.
    #[error("{member}: {source}; the last committed batch is appended again at the next start")]
    SettleAtStop {
        /// The member.
        member: String,
        /// Why.
        #[source]
        source: CommitError,
    },
    /// A commit failed in a way the member does not go on from.
    #[error("{member}: {source}")]
    Commit {
        /// The member.
        member: String,
        /// Why.
        #[source]
        source: CommitError,
    },
    /// Shutdown came while the output could not be written.
    #[error(
        "{member}: stopped while {path} could not be written ({cause}); nothing after the last \
         commit is lost: it is read again at the next start"
    )]
    StoppedWhileBlocked {
        /// The member.
        member: String,
        /// Its output file.
        path: String,
        /// Why it could not be written.
        cause: String,
    },
    /// A record read while the output was blocked could not be read again later.
    #[error("{member}: cannot rewind {topic}/{partition} to {offset}")]
    Rewind {
        /// The member.
        member: String,
        /// The record's topic.
        topic: String,
        /// Its partition.
        partition: i32,
        /// Its offset.
        offset: i64,
        /// Kafka's error (boxed: errors stay small).
        source: Box<KafkaError>,
    },
    /// A record cannot be written and `consumer.on_error = "fail"`.
    #[error(transparent)]
    RecordRefused(#[from] RecordRefused),
}

impl ConsumerError {
    /// A Kafka call of `member` that failed with no retry: `what` says which.
    pub fn kafka(member: &str, what: &'static str) -> impl FnOnce(KafkaError) -> Self {
        let member = member.to_owned();
        move |source| Self::Kafka {
            member,
            what,
            source,
        }
    }

    /// What `sluice_errors_total` counts this error as when the member stops with it; `None`
    /// for a refused record (counted as a dead letter would be, by its stage) and for settings
    /// that cannot work.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Self::Output { .. }
            | Self::SettleAtStop { .. }
            | Self::StoppedWhileBlocked { .. }
            | Self::OutputFile { .. }
            | Self::Settle { .. } => Some(ErrorKind::Output),
            Self::Commit { .. } => Some(ErrorKind::Commit),
            Self::Kafka { .. }
            | Self::MissingAcl { .. }
            | Self::Unreachable { .. }
            | Self::TransactionalIdRefused { .. }
            | Self::Topic(_)
            | Self::Rewind { .. } => Some(ErrorKind::Kafka),
            Self::Lock(_)
            | Self::SchemaFile(_)
            | Self::Transform(_)
            | Self::Registry(_)
            | Self::ClientConfig(_)
            | Self::Metrics(_)
            | Self::Serve(_)
            | Self::RecordRefused(_) => None,
        }
    }
}

/// A record that cannot be written, under `on_error = "fail"`: the member stops with it.
#[derive(Debug, thiserror::Error)]
#[error(
    "record {origin} cannot be written ({stage}): {reason}; the member stops \
     (consumer.on_error = \"fail\") with the records before it committed"
)]
pub struct RecordRefused {
    /// Topic, partition and offset.
    pub origin: String,
    /// The stage that refused it.
    pub stage: &'static str,
    /// Why.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn a_stop_is_counted_by_what_failed_and_a_refused_record_is_not_an_error() {
        let refused = KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed);
        let commit = ConsumerError::Commit {
            member: "consumer-1".into(),
            source: CommitError::NoGroupMetadata,
        };
        assert_eq!(commit.kind(), Some(ErrorKind::Commit));
        let blocked = ConsumerError::StoppedWhileBlocked {
            member: "consumer-1".into(),
            path: "out/consumer-1.jsonl".into(),
            cause: "No space left on device".into(),
        };
        assert_eq!(blocked.kind(), Some(ErrorKind::Output));
        assert_eq!(
            ConsumerError::kafka("consumer-1", "joining the group")(refused).kind(),
            Some(ErrorKind::Kafka)
        );
        let record = ConsumerError::from(RecordRefused {
            origin: "t/3@7".into(),
            stage: "consumer.decode",
            reason: "unknown schema id 9".into(),
        });
        assert_eq!(record.kind(), None);
    }

    #[test]
    fn each_stop_names_the_member_and_what_to_do() {
        let error = ConsumerError::TransactionalIdRefused {
            member: "consumer-2".into(),
            source: KafkaError::MessageProduction(
                RDKafkaErrorCode::TransactionalIdAuthorizationFailed,
            ),
        };
        let text = error.to_string();
        assert!(text.starts_with("consumer-2: "), "{text}");
        assert!(text.contains("consumer.exactly_once = false"), "{text}");
        let blocked = ConsumerError::StoppedWhileBlocked {
            member: "consumer-1".into(),
            path: "out/consumer-1.jsonl".into(),
            cause: "No space left on device".into(),
        };
        assert!(blocked.to_string().contains("read again at the next start"));
    }
}
