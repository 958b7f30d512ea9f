//! Why the files could not be judged against the table, for each thing the verifier reads.

use sluice_common::kafka::topic_reader::TopicReadError;

/// A failure to read what is judged; the verdict is then unknown, never "all good".
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The table could not be read.
    #[error("reading the table: {0}")]
    Table(#[from] sqlx::Error),
    /// The table is not there, or lacks its key column.
    #[error("{0}")]
    TableShape(String),
    /// The reader schema the lines were written with cannot be had.
    #[error("the reader schema: {0}")]
    Schema(String),
    /// A row has no integer key.
    #[error("a row without an integer `{key}`")]
    RowWithoutKey {
        /// The key column.
        key: String,
    },
    /// A line the files were scanned for could not be read back.
    #[error(transparent)]
    LineReadBack(#[from] crate::read_back::ReadBackError),
    /// Kafka refused the dead-letter topic for want of an ACL.
    #[error(transparent)]
    MissingAcl(#[from] sluice_common::acls::MissingAcl),
    /// The dead-letter topic could not be read to its end.
    #[error("reading the dead-letter topic: {0}")]
    DeadLetters(#[from] TopicReadError),
}
