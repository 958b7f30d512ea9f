//! The stack's database schema: the versioned migrations in `stack/migrations`, built into this
//! crate by `sqlx::migrate!` and applied by sqlx's migrator.
//!
//! Invariants:
//! - every database sluice's stacks and tests use gets its schema here, and only here: the
//!   native stack (`stack/services/mariadb.sh`), the Docker stack (the `migrate` service) and
//!   the tests all run [`apply`];
//! - each migration runs once, in version order, and is recorded with its checksum in
//!   `_sqlx_migrations`; a migration changed after it was applied is refused (add a new one
//!   instead).

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::MySqlPool;

/// The migrations of `stack/migrations`, as they were when this crate was built.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A migration applied by [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its version, the number its file name starts with.
    pub version: i64,
    /// The rest of its file name, as sqlx reads it: `create product`.
    pub description: String,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}_{}",
            self.version,
            self.description.replace(' ', "_")
        )
    }
}

/// Applies the migrations `pool`'s database has not had yet; those it applied, in order (none
/// when the schema is current).
pub async fn apply(pool: &MySqlPool) -> Result<Vec<Applied>, MigrateError> {
    let before = applied_versions(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(MIGRATOR
        .iter()
        .filter(|migration| !before.contains(&migration.version))
        .map(|migration| Applied {
            version: migration.version,
            description: migration.description.to_string(),
        })
        .collect())
}

/// The versions recorded as applied; none before the migrator's first run.
async fn applied_versions(pool: &MySqlPool) -> Result<Vec<i64>, MigrateError> {
    let recorded: Option<String> = sqlx::query_scalar(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if recorded.is_none() {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        let versions: Vec<i64> = MIGRATOR.iter().map(|migration| migration.version).collect();
        let expected: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(versions, expected);
        assert!(MIGRATOR
            .iter()
            .any(|migration| migration.description == "create product"));
    }
}
