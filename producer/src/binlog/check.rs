//! What `sluice-producer check` tries for the binlog source: a MariaDB server writing a
//! row-based binary log with full row images, and the user's replication grants.

use sluice_common::preflight::Check;
use sluice_common::settings::Settings;
use sqlx::MySqlPool;

/// The binlog source's checks, on the user's connection.
pub async fn binlog_checks(pool: &MySqlPool, settings: &Settings) -> Vec<Check> {
    vec![
        server_log(pool).await,
        grants(pool, &settings.mysql.user).await,
    ]
}

/// `VERSION()`, `log_bin`, `binlog_format`, `binlog_row_image`.
type ServerLog = (String, Option<String>, Option<String>, Option<String>);

async fn server_log(pool: &MySqlPool) -> Check {
    let answer: Result<ServerLog, _> = sqlx::query_as(
        "SELECT VERSION(), CAST(@@log_bin AS CHAR), CAST(@@binlog_format AS CHAR), \
             CAST(@@binlog_row_image AS CHAR)",
    )
    .fetch_one(pool)
    .await;
    let (version, log_bin, format, image) = match answer {
        Ok(answer) => answer,
        Err(error) => {
            return Check::failed(
                "mysql",
                "binary log",
                format!("the server's binary log settings cannot be read: {error}"),
                None,
            )
        }
    };
    if !version.contains("MariaDB") {
        return Check::failed(
            "mysql",
            "binary log",
            format!("server {version}: the binlog source is built and tested for MariaDB"),
            Some("use producer.source = \"timestamp\" on this server".to_owned()),
        );
    }
    let settings: [(&str, Option<String>, &[&str]); 3] = [
        ("log_bin", log_bin, &["ON", "1"]),
        ("binlog_format", format, &["ROW"]),
        ("binlog_row_image", image, &["FULL"]),
    ];
    let wrong: Vec<String> = settings
        .iter()
        .filter(|(_, value, wanted)| {
            !value
                .as_deref()
                .is_some_and(|v| wanted.iter().any(|w| v.eq_ignore_ascii_case(w)))
        })
        .map(|(name, value, wanted)| {
            format!(
                "{name} is {} (needs {})",
                value.as_deref().unwrap_or("unset"),
                wanted[0]
            )
        })
        .collect();
    match wrong.is_empty() {
        true => Check::ok(
            "mysql",
            "binary log",
            "row-based with full row images (log_bin, binlog_format=ROW, binlog_row_image=FULL)",
        ),
        false => Check::failed(
            "mysql",
            "binary log",
            wrong.join("; "),
            Some(
                "start MariaDB with log_bin, binlog_format=ROW and binlog_row_image=FULL"
                    .to_owned(),
            ),
        ),
    }
}

async fn grants(pool: &MySqlPool, user: &str) -> Check {
    let rows: Vec<(String,)> = match sqlx::query_as("SHOW GRANTS").fetch_all(pool).await {
        Ok(rows) => rows,
        Err(error) => {
            return Check::failed(
                "mysql",
                "replication grants",
                format!("the user's grants cannot be read: {error}"),
                None,
            )
        }
    };
    let missing = missing_grants(rows.iter().map(|(grant,)| grant.as_str()));
    match missing.is_empty() {
        true => Check::ok(
            "mysql",
            "replication grants",
            "REPLICATION SLAVE and BINLOG MONITOR",
        ),
        false => Check::failed(
            "mysql",
            "replication grants",
            format!("the user lacks {}", missing.join(" and ")),
            Some(format!(
                "GRANT {} ON *.* TO {}",
                missing.join(", "),
                account(pool, user).await
            )),
        ),
    }
}

/// The account the server knows the user by (`'sluice'@'127.0.0.1'`), as a `GRANT` names it;
/// `'user'` when the server does not say.
async fn account(pool: &MySqlPool, user: &str) -> String {
    let current: Option<String> = sqlx::query_scalar("SELECT CURRENT_USER()")
        .fetch_one(pool)
        .await
        .ok();
    match current
        .as_deref()
        .and_then(|account| account.rsplit_once('@'))
    {
        Some((name, host)) => format!("'{name}'@'{host}'"),
        None => format!("'{user}'"),
    }
}

/// The replication privileges none of `grants` (as `SHOW GRANTS` writes them) gives.
fn missing_grants<'g>(grants: impl Iterator<Item = &'g str>) -> Vec<&'static str> {
    let global: Vec<String> = grants
        .map(str::to_uppercase)
        .filter(|grant| grant.contains(" ON *.* "))
        .collect();
    let has = |names: &[&str]| {
        global.iter().any(|grant| {
            grant.contains("ALL PRIVILEGES") || names.iter().any(|n| grant.contains(n))
        })
    };
    let mut missing = Vec::new();
    if !has(&["REPLICATION SLAVE", "REPLICATION REPLICA"]) {
        missing.push("REPLICATION SLAVE");
    }
    if !has(&["BINLOG MONITOR", "REPLICATION CLIENT", "SUPER"]) {
        missing.push("BINLOG MONITOR");
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_on_every_database_are_the_ones_that_count() {
        let granted = [
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `sluice_binlog`@`127.0.0.1`",
            "GRANT SELECT ON `sluice`.* TO `sluice_binlog`@`127.0.0.1`",
        ];
        assert!(missing_grants(granted.into_iter()).is_empty());
        let on_a_database = ["GRANT ALL PRIVILEGES ON `sluice`.* TO `sluice`@`127.0.0.1`"];
        assert_eq!(
            missing_grants(on_a_database.into_iter()),
            ["REPLICATION SLAVE", "BINLOG MONITOR"]
        );
        let monitor_only = ["GRANT BINLOG MONITOR ON *.* TO `u`@`%`"];
        assert_eq!(
            missing_grants(monitor_only.into_iter()),
            ["REPLICATION SLAVE"]
        );
        assert!(
            missing_grants(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"].into_iter())
                .is_empty()
        );
    }
}
