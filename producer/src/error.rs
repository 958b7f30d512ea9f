//! What stops the producer, or makes it start over with a new Kafka client.
//!
//! Invariant: an error is transient ([`Transient::is_transient`]) only when the pipeline heals
//! it itself, by replacing its Kafka client and going on from the last watermark; every other
//! error stops the producer with its cause, and a restart goes on from the last watermark. A
//! server that is merely away is waited for where it is called (see `retry`), so it never
//! becomes one of these.

use std::path::PathBuf;

use crate::watermark::WatermarkError;
use rdkafka::error::KafkaError;
use sluice_common::kafka::TopicError;
use sluice_common::observe::ServeError;
use sluice_common::retry::Transient;
use sluice_registry::{RegistryError, SchemaFileError};

use crate::publish::failure_policy::StaleClient;
use crate::publish::transaction::TransactionError;
use crate::publish::transactional_id::TransactionalIdError;
use crate::schema::follower::TableChangeError;
use crate::source::key::Key;
use crate::source::plan::SourcePlanError;
use crate::sweep::key_checkpoint::KeyCheckpointError;
use crate::watermark::saver::SaverError;
use crate::watermark::topic::WatermarkTopicError;

/// Why the producer stopped, or renews its Kafka client.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// The schema file cannot be read or parsed.
    #[error(transparent)]
    SchemaFile(#[from] SchemaFileError),
    /// A metric could not be registered (two with one name: a defect).
    #[error("registering the producer's metrics")]
    Metrics(#[from] prometheus::Error),
    /// The metrics endpoint cannot be served.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// MySQL refused the login, the database or the certificate: no wait heals it.
    #[error(transparent)]
    MysqlRefused(#[from] Box<sluice_common::mysql::ConnectError>),
    /// MySQL refused a read of the table while the producer ran (a grant taken away).
    #[error("reading {table} was refused: {source}; {fix}")]
    MysqlReadRefused {
        /// `database.table`.
        table: String,
        /// The database's answer.
        source: sqlx::Error,
        /// What to do.
        fix: String,
    },
    /// The table does not fit the schema, or its catalogue cannot be read.
    #[error("schema {schema}", schema = schema.display())]
    Source {
        /// The schema file the table was planned for.
        schema: PathBuf,
        /// What does not fit.
        source: SourcePlanError,
    },
    /// librdkafka refuses the configured connection or properties.
    #[error(transparent)]
    ClientConfig(#[from] Box<sluice_common::kafka::ClientConfigError>),
    /// A topic the producer writes cannot be used.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// Kafka refused something only an ACL allows.
    #[error(transparent)]
    MissingAcl(#[from] sluice_common::acls::MissingAcl),
    /// The registry refused the schema (incompatible, invalid, not authorized).
    #[error(
        "schema {schema} cannot be registered under `{subject}`; nothing was produced",
        schema = schema.display()
    )]
    Registration {
        /// The schema file.
        schema: PathBuf,
        /// The subject it was registered under.
        subject: String,
        /// The registry's answer.
        source: RegistryError,
    },
    /// The table changed in a way the producer cannot follow.
    #[error(transparent)]
    TableChange(#[from] Box<TableChangeError>),
    /// The registry client cannot be built from its settings.
    #[error(transparent)]
    Registry(RegistryError),
    /// The Kafka client cannot be created, or refused a call that is not retried.
    #[error("{what}")]
    Kafka {
        /// The call, in words.
        what: String,
        /// Kafka's error.
        source: KafkaError,
    },
    /// The transactional id could not be registered: exactly-once cannot start.
    #[error(transparent)]
    TransactionalId(#[from] TransactionalIdError),
    /// The watermark file cannot be read, written or removed.
    #[error(transparent)]
    Watermark(#[from] WatermarkError),
    /// The watermark topic cannot be read.
    #[error(transparent)]
    WatermarkTopic(#[from] WatermarkTopicError),
    /// The published keys cannot be read back.
    #[error(transparent)]
    KeyCheckpoint(#[from] KeyCheckpointError),
    /// The saved position holds a key of another kind than the key column's now.
    #[error(
        "the saved position is at key {saved}, but key column `{column}` of {table} now holds          {kind}: the column's type changed since; `sluice-producer reset` starts the table over"
    )]
    SavedKeyKind {
        /// `database.table`.
        table: String,
        /// `producer.key_column`.
        column: String,
        /// The key saved.
        saved: Key,
        /// What the column holds now, in words.
        kind: &'static str,
    },
    /// A transaction failed: fenced stops the producer, fatal renews its client.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// No record reached its partition's leader in time: a new client is needed.
    #[error(transparent)]
    StaleClient(#[from] StaleClient),
    /// Publishing failed in a way no retry heals (not authorized, settings refused).
    #[error(
        "publishing to topic {topic} failed for good: {error} ({why}); the producer stops, and \
         a restart goes on from the last watermark"
    )]
    PublishRefused {
        /// The records topic.
        topic: String,
        /// Kafka's error.
        error: KafkaError,
        /// Why it will not heal, and what to grant or change.
        why: &'static str,
    },
    /// A row cannot be published and `producer.on_error = "fail"`.
    #[error(transparent)]
    RowRefused(#[from] RowRefused),
    /// A MySQL error where no retry applies (reading a page's end position).
    #[error("reading {what}")]
    Mysql {
        /// What was read.
        what: String,
        /// The database's error.
        source: sqlx::Error,
    },
    /// Standing by, another producer took the lock; the process restarts as a standby.
    #[error("another producer took over publishing ({how}); start this one again to stand by")]
    LockLost {
        /// How this producer's work ended: its last commit, or its error.
        how: String,
    },
    /// The watermark could not be saved beside the loop.
    #[error(transparent)]
    Saver(#[from] SaverError),
    /// A task of the producer panicked or was cancelled: a defect.
    #[error("a task of the producer ended abnormally")]
    Task(#[from] tokio::task::JoinError),
    /// The task reading the next page panicked or was cancelled: a defect.
    #[error(transparent)]
    ReadAhead(#[from] ReadAheadLost),
    /// The binlog source cannot go on.
    #[error(transparent)]
    Binlog(Box<crate::binlog::error::BinlogError>),
    /// `reset` was interrupted before it could fence the producers of the id.
    #[error("stopped before the transactional id was registered; nothing was reset")]
    ResetInterrupted,
}

impl From<crate::binlog::error::BinlogError> for ProducerError {
    fn from(error: crate::binlog::error::BinlogError) -> Self {
        Self::Binlog(Box::new(error))
    }
}

impl ProducerError {
    /// A Kafka call that failed with no retry: `what` says which.
    pub fn kafka(what: impl Into<String>) -> impl FnOnce(KafkaError) -> Self {
        let what = what.into();
        move |source| Self::Kafka { what, source }
    }
}

impl Transient for ProducerError {
    /// Only a client failing for good or stuck: the pipeline replaces it.
    fn is_transient(&self) -> bool {
        match self {
            Self::StaleClient(_) => true,
            Self::Transaction(error) => error.renews_client(),
            _ => false,
        }
    }
}

/// The task reading ahead panicked or was cancelled (a defect), and the reader with it.
#[derive(Debug, thiserror::Error)]
#[error("the task reading the next page ended abnormally{}", .0.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
pub struct ReadAheadLost(pub Option<tokio::task::JoinError>);

/// A row that cannot be published, under `on_error = "fail"`: the producer stops with it.
#[derive(Debug, thiserror::Error)]
#[error(
    "row {origin} cannot be published: {reason}; the producer stops (producer.on_error = \
     \"fail\"), its watermark before that row's page"
)]
pub struct RowRefused {
    /// The table and key of the row.
    pub origin: String,
    /// Why.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::RDKafkaErrorCode;

    #[test]
    fn only_a_failed_or_stuck_client_is_transient() {
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(ProducerError::from(StaleClient(timed_out.clone())).is_transient());
        let fatal = Box::new(KafkaError::MessageProduction(RDKafkaErrorCode::Fatal));
        let (id, step) = (
            "sluice-product_updates".to_owned(),
            "committing a transaction",
        );
        assert!(
            ProducerError::from(TransactionError::Fatal {
                id: id.clone(),
                step,
                error: fatal.clone(),
            })
            .is_transient(),
            "a fatal client error renews the client"
        );
        assert!(ProducerError::from(TransactionError::Injected { commit: 2 }).is_transient());
        let fenced = TransactionError::Fenced {
            id,
            step,
            error: fatal,
        };
        assert!(!ProducerError::from(fenced).is_transient());
        let refused = ProducerError::PublishRefused {
            topic: "t".into(),
            error: timed_out,
            why: "not authorized",
        };
        assert!(!refused.is_transient());
        assert!(!ProducerError::LockLost { how: "x".into() }.is_transient());
    }

    #[test]
    fn a_refused_transactional_id_says_what_to_grant() {
        let error = ProducerError::from(TransactionalIdError::Refused {
            id: "sluice-product_updates".into(),
            source: KafkaError::MessageProduction(
                RDKafkaErrorCode::TransactionalIdAuthorizationFailed,
            ),
        });
        let text = error.to_string();
        assert!(text.contains("`sluice-product_updates`"), "{text}");
        assert!(text.contains("WRITE on the transactional id"), "{text}");
    }
}
