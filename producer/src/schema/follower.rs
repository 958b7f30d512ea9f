//! Following the table after an `ALTER TABLE`: the page reader noticed the change (see
//! `poll::page_reader`), the loop settled and committed everything read before it, and the
//! follower plans again from the catalogue. A schema built from the table that changed is
//! registered as the subject's next version, and records from then on carry its id; one the
//! subject's compatibility level refuses, or a table a schema file no longer fits, stops the
//! producer with one line naming the change, the level and the ways forward.
//!
//! Invariant: no row is encoded with a plan made for other columns than the ones it was read
//! with, and nothing is published under a schema the registry has not accepted.

use sluice_common::events::ErrorKind;
use sluice_common::retry::{self, Policy};
use sluice_common::shutdown::Shutdown;
use sluice_registry::{
    explain_incompatibility, CompatibilityLevel, RegistryClient, RegistryError, SchemaFile,
    SchemaId,
};
use sqlx::MySqlPool;

use super::registration::register;
use crate::metrics::ProducerMetrics;
use crate::source::catalogue::{TableColumn, TableWatch};
use crate::source::plan::{SourcePlan, SourcePlanError, TimestampColumn};
use crate::source::table_change::describe_changes;
use crate::source::writer_schema::WriterSchema;

/// Why the producer cannot go on with the table as it changed.
#[derive(Debug, thiserror::Error)]
pub enum TableChangeError {
    /// The table as it is now cannot be read with the schema (a file's, or one built from it).
    #[error(
        "table {table} changed ({changes}) and no longer fits the schema: {source}; nothing \
         was published under it. Ways forward: undo the change, or make the schema fit it{fix}, \
         and start the producer again"
    )]
    NoLongerFits {
        /// `database.table`.
        table: String,
        /// What changed.
        changes: String,
        /// Why it does not fit.
        source: SourcePlanError,
        /// The way forward that depends on where the schema comes from.
        fix: &'static str,
    },
    /// The subject's compatibility level refuses the schema built from the changed table.
    #[error(
        "table {table} changed ({changes}); the schema built from it breaks {level} on subject \
         {subject}: {reason}; nothing was published under it. Ways forward: undo the change \
         (or make it compatible: a new column NULL-able or with a default); or let the subject \
         take it (`sluice-registry compat set NONE --subject {subject}`, readers of old \
         records beware) and start the producer again; or start over on a new topic \
         (kafka.topic)"
    )]
    Refused {
        /// `database.table`.
        table: String,
        /// What changed.
        changes: String,
        /// The subject.
        subject: String,
        /// Its level, as far as the producer knows it.
        level: CompatibilityLevel,
        /// Why, as the registry or the local rules say.
        reason: String,
    },
    /// The registry refused the schema for another reason than compatibility.
    #[error("registering the schema of changed table {table} under {subject}: {source}")]
    Registry {
        /// `database.table`.
        table: String,
        /// The subject.
        subject: String,
        /// The registry's answer.
        source: RegistryError,
    },
}

/// What the producer needs to plan again: where the table and its schema come from.
#[derive(Debug, Clone)]
pub struct SchemaFollower {
    /// The configured writer schema.
    pub writer: WriterSchema,
    /// The registry the schema goes to.
    pub registry: RegistryClient,
    /// The topic's value subject.
    pub subject: String,
    /// The level the producer gives a subject without one.
    pub level: CompatibilityLevel,
    /// The database.
    pub database: String,
    /// The table, unqualified.
    pub table: String,
    /// `producer.key_column`.
    pub key_column: String,
    /// `producer.timestamp_column`.
    pub timestamp_column: String,
    /// Whether the source pages by it (the timestamp poller), so the table must keep it.
    pub timestamp_required: bool,
    /// `producer.deleted_column`, when set.
    pub deleted_column: Option<String>,
    /// The schema registered last, and the catalogue it was planned from.
    pub current: SchemaFile,
    /// Its registry id.
    pub current_id: SchemaId,
    /// The columns of the plan in use.
    pub catalogue: Vec<TableColumn>,
}

/// A new plan for the changed table.
pub struct Followed {
    /// The plan.
    pub plan: SourcePlan,
    /// The id of its schema: the one in use when it did not change, else the one registered.
    pub schema_id: SchemaId,
    /// What changed, for the log.
    pub changes: Vec<String>,
    /// Whether the schema changed (a new version of the subject).
    pub new_schema: bool,
}

impl SchemaFollower {
    /// The columns a page must have been read with, for the page reader.
    pub fn watch(&self) -> TableWatch {
        TableWatch {
            database: self.database.clone(),
            table: self.table.clone(),
            columns: self.catalogue.clone(),
        }
    }

    fn qualified(&self) -> String {
        format!("{}.{}", self.database, self.table)
    }

    /// Plans again for the table as the catalogue describes it now, registering its schema
    /// when it changed; `None` when shutdown came while the registry was away.
    pub async fn follow(
        &mut self,
        pool: &MySqlPool,
        metrics: &ProducerMetrics,
        shutdown: &Shutdown,
    ) -> Result<Option<Followed>, TableChangeError> {
        let discovered = SourcePlan::discover(
            pool,
            &self.database,
            &self.table,
            &self.writer,
            &self.key_column,
            match self.timestamp_required {
                true => TimestampColumn::Required(&self.timestamp_column),
                false => TimestampColumn::IfPresent(&self.timestamp_column),
            },
            self.deleted_column.as_deref(),
        )
        .await;
        let changes_from = |columns: &[TableColumn]| describe_changes(&self.catalogue, columns);
        let plan = match discovered {
            Ok(plan) => plan,
            Err(source) => {
                let changes = match &source {
                    SourcePlanError::Catalogue { .. } => Vec::new(),
                    _ => changes_from(&self.catalogue_now(pool).await),
                };
                return Err(TableChangeError::NoLongerFits {
                    table: self.qualified(),
                    changes: changes.join(", "),
                    source,
                    fix: match self.writer {
                        WriterSchema::File(_) => {
                            " (a default for the field in the schema file, or a new version of it)"
                        }
                        WriterSchema::Table(_) => {
                            " (leave the column out: producer.exclude_columns)"
                        }
                    },
                });
            }
        };
        let changes = changes_from(&plan.catalogue);
        let text = plan.schema.registered_text();
        let new_schema = text != self.current.registered_text();
        if !new_schema {
            // The same schema (a column it does not hold changed): its id, no registry call.
            self.catalogue = plan.catalogue.clone();
            return Ok(Some(Followed {
                plan,
                schema_id: self.current_id,
                changes,
                new_schema,
            }));
        }
        let what = format!(
            "the schema registry to register the schema of {}",
            self.qualified()
        );
        let registered = retry::retry(Policy::SERVER, ErrorKind::Registry, &what, shutdown, || {
            register(&self.registry, &self.subject, self.level, &text, metrics)
        })
        .await;
        let Some(registered) = registered else {
            return Ok(None);
        };
        let schema_id = match registered {
            Ok(id) => id,
            Err(RegistryError::Incompatible { message, .. }) => {
                // The subject's own level, which the configured one only stands in for.
                let level = match self.registry.subject_compatibility(&self.subject).await {
                    Ok(Some(level)) => level,
                    _ => self.level,
                };
                let reason =
                    explain_incompatibility(&plan.schema.schema, &self.current.schema, level)
                        .unwrap_or(message);
                return Err(TableChangeError::Refused {
                    table: self.qualified(),
                    changes: changes.join(", "),
                    subject: self.subject.clone(),
                    level,
                    reason,
                });
            }
            Err(source) => {
                return Err(TableChangeError::Registry {
                    table: self.qualified(),
                    subject: self.subject.clone(),
                    source,
                })
            }
        };
        self.current = plan.schema.clone();
        self.current_id = schema_id;
        self.catalogue = plan.catalogue.clone();
        Ok(Some(Followed {
            plan,
            schema_id,
            changes,
            new_schema,
        }))
    }

    /// The columns as the catalogue has them now, for naming what changed; none when it cannot
    /// be read.
    async fn catalogue_now(&self, pool: &MySqlPool) -> Vec<TableColumn> {
        crate::source::catalogue::table_columns(pool, &self.database, &self.table)
            .await
            .unwrap_or_default()
    }
}
