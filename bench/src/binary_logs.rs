//! The binary logs the bench's phases wrote: MariaDB keeps them for a day
//! (`binlog_expire_logs_seconds`), and the bulk updates' full row images are many gigabytes.
//! Once the figures are written they are purged through the stack's admin login, all but the
//! one MariaDB writes now (and any a connected replica still reads, which MariaDB keeps).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context as _;

/// Purges every binary log before the one being written.
pub fn purge(root: &Path) -> anyhow::Result<()> {
    let script = root.join("stack/sluice-stack");
    let mut admin = Command::new(&script)
        .arg("mysql-admin")
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {} mysql-admin", script.display()))?;
    admin
        .stdin
        .take()
        .context("the admin login's input")?
        .write_all(b"PURGE BINARY LOGS BEFORE NOW();")?;
    let status = admin.wait()?;
    anyhow::ensure!(
        status.success(),
        "purging the binary logs failed ({status})"
    );
    tracing::info!("purged the binary logs the bench wrote (MariaDB keeps the current one)");
    Ok(())
}
