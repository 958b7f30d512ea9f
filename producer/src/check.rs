//! `sluice-producer check`: a preflight of everything `run` would refuse, beside a running
//! pipeline without disturbing it (the invariant of `sluice_common::preflight`). Beyond the
//! servers' logins: the column plan (the schema against the table, planned as `run` plans it),
//! the keyset index, what the user sees of open transactions, the records topic against
//! `kafka.partitions`, and the schema against what the registry holds. The transactional id is
//! not tried: registering it would fence a running producer.

use sluice_common::acls;
use sluice_common::preflight::{self, Check, Report};
use sluice_common::settings::{ChangeSource, Settings};
use sluice_registry::{registry_check, schema_check, SchemaFile};

use crate::source::writer_schema::WriterSchema;

use crate::source::plan::{keyset_index_statement, SourcePlan, TimestampColumn};
use crate::source::read_bound::{transaction_view, TransactionView};

/// Runs every check of the producer's settings.
pub async fn check(settings: &Settings) -> Report {
    let writer = WriterSchema::from_settings(&settings.producer);
    let subject = format!("{}-value", settings.kafka.topic);
    let (mysql, kafka, reach) = tokio::join!(
        mysql_checks(settings, writer.as_ref().ok()),
        preflight::kafka_checks(&settings.kafka),
        registry_check(&settings.registry),
    );
    let (mysql, resolved) = mysql;
    // A schema file is checked against the registry even when the table cannot be read; a
    // schema built from the table only once it is built.
    let resolved = resolved.or_else(|| match &writer {
        Ok(WriterSchema::File(file)) => Some(file.clone()),
        _ => None,
    });
    let mut registry = vec![reach];
    if registry[0].status == preflight::Status::Ok {
        if let Some(schema) = &resolved {
            registry.push(schema_check(&settings.registry, &subject, schema).await);
        }
    }
    let mut checks = Vec::new();
    if let Err(error) = &writer {
        checks.push(Check::failed(
            "producer",
            "schema file",
            error.to_string(),
            Some("fix producer.schema_file".to_owned()),
        ));
    }
    checks.extend(mysql);
    checks.extend(kafka);
    checks.push(transactional_id(settings));
    checks.extend(registry);
    Report::new(checks)
}

/// The login, the table, then what needs the table: the column plan (and the schema it
/// resolved, built from the table or read from the file), the keyset index and the view of
/// open transactions.
async fn mysql_checks(
    settings: &Settings,
    writer: Option<&WriterSchema>,
) -> (Vec<Check>, Option<SchemaFile>) {
    let reach = preflight::mysql_login(&settings.mysql).await;
    let mut checks = reach.checks;
    let Some(pool) = reach.pool else {
        return (checks, None);
    };
    let Some(writer) = writer else {
        checks.push(Check::skipped("mysql", "column plan", "no schema file"));
        return (checks, None);
    };
    if checks
        .iter()
        .any(|check| check.status == preflight::Status::Failed)
    {
        checks.push(Check::skipped(
            "mysql",
            "column plan",
            "the table cannot be read",
        ));
        return (checks, None);
    }
    let (mysql, producer) = (&settings.mysql, &settings.producer);
    let plan = SourcePlan::discover(
        &pool,
        &mysql.database,
        &mysql.table,
        writer,
        &producer.key_column,
        TimestampColumn::of(producer),
        producer.deleted_column(),
    )
    .await;
    let qualified = format!("{}.{}", mysql.database, mysql.table);
    let mut resolved = None;
    match plan {
        Ok(plan) => {
            resolved = Some(plan.schema.clone());
            checks.push(Check::ok(
                "mysql",
                "column plan",
                match writer {
                    WriterSchema::File(_) => format!(
                        "table {qualified} fills every field of {}",
                        plan.schema.path.display()
                    ),
                    WriterSchema::Table(_) => format!(
                        "a record of {} fields built from the columns of {qualified}",
                        plan.columns.fields.len()
                    ),
                },
            ));
            checks.push(match plan.keyset_index {
                _ if producer.source == ChangeSource::Binlog => Check::ok(
                    "mysql",
                    "keyset index",
                    "not needed: the binlog source reads changes from the binary log",
                ),
                Some(index) => Check::ok("mysql", "keyset index", format!("index {index}")),
                None => Check::failed(
                    "mysql",
                    "keyset index",
                    format!(
                        "no index on ({}, {}): every page of changes would read the whole table",
                        producer.timestamp_column, producer.key_column
                    ),
                    Some(keyset_index_statement(
                        &mysql.table,
                        &producer.timestamp_column,
                        &producer.key_column,
                    )),
                ),
            });
        }
        Err(error) => checks.push(Check::failed(
            "mysql",
            "column plan",
            format!(
                "schema {}: {}",
                writer.describe(&qualified).display(),
                sluice_common::exit::describe(&error)
            ),
            Some(match writer {
                WriterSchema::File(_) => "add the column to the table, give the field a default \
                    in the schema, or set producer.key_column / timestamp_column"
                    .to_owned(),
                WriterSchema::Table(_) => "leave the column out with producer.exclude_columns, \
                    or set producer.key_column / timestamp_column"
                    .to_owned(),
            }),
        )),
    }
    if producer.source == ChangeSource::Binlog {
        checks.extend(crate::binlog::check::binlog_checks(&pool, settings).await);
        pool.close().await;
        return (checks, resolved);
    }
    checks.push(match transaction_view(&pool).await {
        TransactionView::Precise => Check::ok(
            "mysql",
            "open transactions",
            "seen to the microsecond (PROCESS, performance_schema)",
        ),
        TransactionView::WholeSeconds => Check::warn(
            "mysql",
            "open transactions",
            "seen to the second only: rows wait producer.commit_lag_ms",
            "turn on performance_schema's transaction and statement events and GRANT SELECT \
             ON performance_schema.* to the user"
                .to_owned(),
        ),
        TransactionView::None => Check::warn(
            "mysql",
            "open transactions",
            "not seen: a transaction open longer than producer.commit_lag_ms can be missed",
            format!("GRANT PROCESS ON *.* TO '{}'", mysql.user),
        ),
    });
    pool.close().await;
    (checks, resolved)
}

/// Not tried: registering the id would fence the producer that runs with it. Says the ACL it
/// needs under an authorizer.
fn transactional_id(settings: &Settings) -> Check {
    if !settings.producer.exactly_once {
        return Check::ok(
            "kafka",
            "transactional id",
            "none (producer.exactly_once is off)",
        );
    }
    let id = settings
        .producer
        .transactional_id_for(&settings.kafka.topic);
    Check::skipped(
        "kafka",
        "transactional id",
        format!(
            "`{id}` not tried (registering it would fence a running producer); under an \
             authorizer it needs {}",
            acls::producer_transactional_id(&id)
        ),
    )
}
