//! Which MySQL failures no wait can heal, and what to do about each.
//!
//! A server that is down, restarting or slow to answer is waited for. A server that answers
//! and refuses (the login, the database, a grant, the certificate) will refuse the next try the
//! same way: the process stops with the server's words and the fix, instead of retrying for
//! ever.

use sqlx::mysql::MySqlDatabaseError;

/// The MySQL error codes of a refusal, with what to do about it. The user, database and table
/// are filled in by [`fix_for`].
const REFUSALS: &[(u16, &str)] = &[
    // ER_ACCESS_DENIED_ERROR: a wrong password, an unknown user, or a user created REQUIRE
    // SSL reached without TLS.
    (
        1045,
        "check mysql.user and mysql.password (or mysql.password_file); a user created REQUIRE \
         SSL also needs mysql.tls_mode required or stricter",
    ),
    // ER_DBACCESS_DENIED_ERROR: also what a user granted nothing on it hears of a database
    // that does not exist.
    (
        1044,
        "check mysql.database, or GRANT SELECT ON `{database}`.* TO {user}",
    ),
    // ER_BAD_DB_ERROR
    (
        1049,
        "check mysql.database: the server has no such database",
    ),
    // ER_TABLEACCESS_DENIED_ERROR
    (1142, "GRANT SELECT ON `{database}`.`{table}` TO {user}"),
    // ER_COLUMNACCESS_DENIED_ERROR
    (1143, "GRANT SELECT ON `{database}`.`{table}` TO {user}"),
    // ER_SPECIFIC_ACCESS_DENIED_ERROR (a global privilege such as PROCESS)
    (
        1227,
        "GRANT the privilege named to {user} (docs/security.md: the MySQL grants sluice needs)",
    ),
    // ER_NOT_SUPPORTED_AUTH_MODE
    (
        1251,
        "the user's authentication plugin is not one the client speaks; use \
         mysql_native_password or caching_sha2_password",
    ),
    // ER_ACCOUNT_HAS_BEEN_LOCKED
    (3118, "unlock the account: ALTER USER {user} ACCOUNT UNLOCK"),
    // ER_MUST_CHANGE_PASSWORD_LOGIN
    (
        1862,
        "the password has expired: ALTER USER {user} IDENTIFIED BY …",
    ),
];

/// Where a refusal happened, to name in its fix.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The user, as `'name'`.
    pub user: &'a str,
    /// The database.
    pub database: &'a str,
    /// The table.
    pub table: &'a str,
}

/// What to do about `error`, when no wait can heal it; `None` when waiting may (a refused
/// connection, a timeout, a server shutting down).
pub fn fix_for(error: &sqlx::Error, place: Place<'_>) -> Option<String> {
    match error {
        sqlx::Error::Database(database) => {
            let code = database.try_downcast_ref::<MySqlDatabaseError>()?.number();
            let (_, fix) = REFUSALS.iter().find(|(refused, _)| *refused == code)?;
            Some(
                fix.replace("{user}", &format!("'{}'", place.user))
                    .replace("{database}", place.database)
                    .replace("{table}", place.table),
            )
        }
        sqlx::Error::Tls(tls) => {
            let text = tls.to_string();
            let certificate = ["invalid peer certificate", "certificate", "UnknownIssuer"]
                .iter()
                .any(|word| text.contains(word));
            certificate.then(|| {
                "the server's certificate is not trusted or does not name mysql.host: set \
                 mysql.ca_file to the authority that signed it, or mysql.tls_mode to a mode \
                 that checks less"
                    .to_owned()
            })
        }
        sqlx::Error::Configuration(_) => Some("fix the MySQL settings named (mysql.*)".to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: Place<'static> = Place {
        user: "sluice",
        database: "shop",
        table: "product",
    };

    #[test]
    fn a_refused_connection_or_a_timeout_may_heal() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(fix_for(&refused, PLACE), None);
        assert_eq!(fix_for(&sqlx::Error::PoolTimedOut, PLACE), None);
    }

    #[test]
    fn a_refused_certificate_cannot_heal_and_names_the_settings() {
        let tls = sqlx::Error::Tls("invalid peer certificate: UnknownIssuer".into());
        let fix = fix_for(&tls, PLACE).unwrap_or_default();
        assert!(fix.contains("mysql.ca_file"), "{fix}");
    }
}
