//! A statement in the stream that names the table: the source stops when it changed the
//! table's columns, which it does not follow yet.

use super::error::BinlogError;
use super::open_transaction::Stopped;
use super::position::BinlogPosition;
use super::run::BinlogRun;
use crate::error::ProducerError;

impl BinlogRun<'_> {
    /// A statement that changed the table's columns stops the source (it is not followed yet).
    pub(super) async fn check_table_change(
        &self,
        schema: &str,
        query: &str,
        at: &BinlogPosition,
    ) -> Result<(), Stopped> {
        let table = &self.pipeline.mysql.table;
        let lowered = query.to_lowercase();
        if !lowered.contains(&table.to_lowercase()) {
            return Ok(());
        }
        let database = &self.pipeline.mysql.database;
        let now = crate::source::catalogue::table_columns(&self.pipeline.pool, database, table)
            .await
            .map_err(|source| {
                Stopped::For(ProducerError::Mysql {
                    what: format!("the columns of {database}.{table}"),
                    source,
                })
            })?;
        if self.layout.columns() == now.as_slice() {
            return Ok(());
        }
        Err(Stopped::For(
            BinlogError::TableChanged {
                table: self.pipeline.table.clone(),
                at: at.clone(),
                what: format!("`{}` in `{schema}`", query.trim()),
            }
            .into(),
        ))
    }
}
