//! A cold start of MariaDB for a read of a table larger than its buffer pool: the server is
//! stopped (it dumps the list of its pool's pages on the way down), that dump is removed, and
//! the server started again, so it loads nothing and the first read comes from disk. InnoDB
//! reads its files with `O_DIRECT` here (checked), so the kernel's page cache holds none of the
//! table either. The pages the read then fetched from disk are counted
//! (`Innodb_buffer_pool_reads`), so "cold" is a measured claim.

use std::process::Command;

use sluice_common::mysql::quote_identifier;
use sqlx::MySqlPool;

use crate::context::Bench;

/// The table against MariaDB's buffer pool, as MariaDB reports both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    /// The table's data and indexes, in bytes.
    pub table_bytes: f64,
    /// The buffer pool, in bytes.
    pub pool_bytes: f64,
}

/// Restarts MariaDB with an empty buffer pool; fails when it cannot, or when InnoDB reads
/// through the page cache (a restart would then leave the table in memory).
pub async fn restart_mariadb(bench: &Bench) -> anyhow::Result<()> {
    let (method, datadir): (String, String) =
        sqlx::query_as("SELECT @@innodb_flush_method, @@datadir")
            .fetch_one(&bench.pool)
            .await?;
    anyhow::ensure!(
        method.starts_with("O_DIRECT"),
        "innodb_flush_method is {method}: InnoDB reads through the page cache, which a restart \
         of MariaDB does not empty"
    );
    stack(bench, "stop")?;
    let dump = std::path::Path::new(&datadir).join("ib_buffer_pool");
    match std::fs::remove_file(&dump) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot remove {}: {e}", dump.display()),
    }
    stack(bench, "start")?;
    // The pool's connections to the old server are found dead and replaced on their next use.
    sqlx::query("SELECT 1").execute(&bench.pool).await?;
    Ok(())
}

/// `stack/sluice-stack <verb> mariadb`, failing with its output when it fails.
fn stack(bench: &Bench, verb: &str) -> anyhow::Result<()> {
    let output = Command::new(bench.root.join("stack/sluice-stack"))
        .args([verb, "mariadb"])
        .current_dir(&bench.root)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "stack/sluice-stack {verb} mariadb failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Pages InnoDB has read from disk since it started (`Innodb_buffer_pool_reads`).
pub async fn pages_read_from_disk(pool: &MySqlPool) -> anyhow::Result<u64> {
    let (_, value): (String, String) =
        sqlx::query_as("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_reads'")
            .fetch_one(pool)
            .await?;
    Ok(value.parse()?)
}

/// InnoDB's page size, in bytes.
pub async fn page_bytes(pool: &MySqlPool) -> anyhow::Result<u64> {
    let size: u64 = sqlx::query_scalar("SELECT CAST(@@innodb_page_size AS UNSIGNED)")
        .fetch_one(pool)
        .await?;
    Ok(size)
}

/// The table's size (data and indexes) and the buffer pool's; the table's statistics are
/// refreshed first.
pub async fn sizes(pool: &MySqlPool, table: &str) -> anyhow::Result<Sizes> {
    sqlx::query(&format!("ANALYZE TABLE {}", quote_identifier(table)))
        .execute(pool)
        .await?;
    let (table_bytes, pool_bytes): (u64, u64) = sqlx::query_as(
        "SELECT CAST(DATA_LENGTH + INDEX_LENGTH AS UNSIGNED), \
                CAST(@@innodb_buffer_pool_size AS UNSIGNED) \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_one(pool)
    .await?;
    Ok(Sizes {
        table_bytes: table_bytes as f64,
        pool_bytes: pool_bytes as f64,
    })
}
