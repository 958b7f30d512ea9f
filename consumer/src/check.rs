//! `sluice-consumer check`: a preflight of everything `run` would refuse, beside a running
//! group without disturbing it (the invariant of `sluice_common::preflight`): the Kafka login
//! and the records topic, the registry and the reader schema, and the member's output folder
//! (writable, its free space, its lock). The group is not joined: that would make the running
//! members rebalance.

use std::path::Path;

use apache_avro::Schema;
use sluice_common::acls;
use sluice_common::preflight::{self, Check, Report};
use sluice_common::settings::{ReaderSchemaSource, Settings};
use sluice_registry::{registry_check, RegistryClient, RegistryError, SchemaFile};

use crate::output::member_lock;
use crate::record::transform::Transform;

/// Below this much free space the folder cannot take a member's batches: `run` would block.
const FREE_AT_LEAST: u64 = 64 << 20;
/// Below this much, a warning: the file grows with every record.
const FREE_COMFORTABLY: u64 = 1 << 30;

/// Runs every check of the member's settings.
pub async fn check(settings: &Settings) -> Report {
    let (kafka, registry) = tokio::join!(
        preflight::kafka_checks(&settings.kafka),
        registry_check(&settings.registry),
    );
    let mut checks = kafka;
    checks.push(group(settings));
    checks.push(registry);
    checks.push(reader_schema(settings));
    checks.push(transform_steps(settings).await);
    checks.extend(output_checks(settings));
    Report::new(checks)
}

/// A pinned reader schema parses; a followed one is the subject's latest, read with the records.
fn reader_schema(settings: &Settings) -> Check {
    if settings.consumer.reader_schema_from == ReaderSchemaSource::Latest {
        return Check::ok(
            "consumer",
            "reader schema",
            format!(
                "the latest version of {}-value, followed",
                settings.kafka.topic
            ),
        );
    }
    match SchemaFile::load_or_built_in(&settings.consumer.reader_schema_file) {
        Ok(schema) => Check::ok(
            "consumer",
            "reader schema",
            format!("{} parses", schema.path.display()),
        ),
        Err(error) => Check::failed(
            "consumer",
            "reader schema",
            error.to_string(),
            Some("fix consumer.reader_schema_file".to_owned()),
        ),
    }
}

/// The transform steps work on the reader schema: a pinned one, or the subject's latest
/// version when the members follow it (where a step whose field the version lacks is skipped
/// for its records: a warning).
async fn transform_steps(settings: &Settings) -> Check {
    const NAME: &str = "transform steps";
    let failed = |error: String| {
        Check::failed(
            "consumer",
            NAME,
            error,
            Some("fix transform.steps (docs/configuration.md#transform-steps)".to_owned()),
        )
    };
    let producer = &settings.producer;
    let transform = match Transform::new(
        &settings.transform,
        &producer.key_column,
        &producer.timestamp_column,
    ) {
        Ok(transform) => transform,
        Err(error) => return failed(error.to_string()),
    };
    let count = settings.transform.steps.len();
    if settings.consumer.reader_schema_from == ReaderSchemaSource::Latest {
        let subject = format!("{}-value", settings.kafka.topic);
        let latest = match RegistryClient::new(&settings.registry) {
            Ok(registry) => registry.version(&subject, None).await,
            Err(error) => return Check::skipped("consumer", NAME, error.to_string()),
        };
        let latest = match latest {
            Ok(latest) => latest,
            Err(RegistryError::NotFound { .. }) => {
                return Check::ok(
                    "consumer",
                    NAME,
                    format!("{count} steps; {subject} has no version yet to check them against"),
                )
            }
            Err(error) => return Check::skipped("consumer", NAME, error.to_string()),
        };
        let schema = match Schema::parse_str(&latest.schema) {
            Ok(schema) => schema,
            Err(error) => return failed(format!("{subject} version {}: {error}", latest.version)),
        };
        return match transform.skipped_on(&schema) {
            Ok(skipped) if skipped.is_empty() => Check::ok(
                "consumer",
                NAME,
                format!("{count} steps fit {subject} version {}", latest.version),
            ),
            Ok(skipped) => Check::warn(
                "consumer",
                NAME,
                format!(
                    "{subject} version {}: {}",
                    latest.version,
                    skipped.join("; ")
                ),
                "such a step is skipped for the records of that version: fix transform.steps \
                 if the field's name is wrong"
                    .to_owned(),
            ),
            Err(error) => failed(error.to_string()),
        };
    }
    match SchemaFile::load_or_built_in(&settings.consumer.reader_schema_file) {
        Ok(file) => match transform.check(&file.schema) {
            Ok(()) => Check::ok(
                "consumer",
                NAME,
                format!("{count} steps fit {}", file.path.display()),
            ),
            Err(error) => failed(error.to_string()),
        },
        // The reader schema's own check says why.
        Err(_) => Check::skipped("consumer", NAME, "no reader schema to check them against"),
    }
}

/// Not joined (a join would rebalance the running group); says the ACLs it needs under an
/// authorizer.
fn group(settings: &Settings) -> Check {
    let needed: Vec<String> = acls::consumer(settings)
        .iter()
        .filter(|acl| acl.resource != acls::Resource::Topic)
        .map(ToString::to_string)
        .collect();
    Check::skipped(
        "kafka",
        "group",
        format!(
            "`{}` not joined (a join would rebalance the running members); under an \
             authorizer it needs {}",
            settings.consumer.group_id,
            needed.join("; ")
        ),
    )
}

/// The output folder: writable (a file made and removed), free space, the member's lock.
fn output_checks(settings: &Settings) -> Vec<Check> {
    let folder = Path::new(&settings.consumer.output_dir);
    let member = &settings.consumer.member;
    // A folder that does not exist yet is made by `run`: its nearest existing parent must be
    // writable then.
    let existing = folder
        .ancestors()
        .find(|path| path.is_dir())
        .unwrap_or(Path::new("."));
    let mut checks = vec![writable(folder, existing)];
    checks.push(free_space(existing));
    checks.push(match member_lock::probe(folder, member) {
        Ok(()) => Check::ok("output", "member lock", format!("{member} is free")),
        Err(error) => Check::failed(
            "output",
            "member lock",
            error.to_string(),
            Some(
                "stop that process, or give this one another --member or consumer.output_dir"
                    .to_owned(),
            ),
        ),
    });
    checks
}

fn writable(folder: &Path, existing: &Path) -> Check {
    let probe = existing.join(format!(".sluice-check-{}", std::process::id()));
    let outcome = std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe));
    match outcome {
        Ok(()) if existing == folder => Check::ok(
            "output",
            "folder",
            format!("{} is writable", folder.display()),
        ),
        Ok(()) => Check::ok(
            "output",
            "folder",
            format!(
                "{} will be made in {}, which is writable",
                folder.display(),
                existing.display()
            ),
        ),
        Err(error) => Check::failed(
            "output",
            "folder",
            format!("{} is not writable: {error}", existing.display()),
            Some(format!(
                "give the user the folder (chown), or set consumer.output_dir to one it may \
                 write ({})",
                folder.display()
            )),
        ),
    }
}

fn free_space(folder: &Path) -> Check {
    let stats = match rustix::fs::statvfs(folder) {
        Ok(stats) => stats,
        Err(error) => {
            return Check::skipped(
                "output",
                "free space",
                format!("{}: {error}", folder.display()),
            )
        }
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    let mib = free >> 20;
    if free < FREE_AT_LEAST {
        Check::failed(
            "output",
            "free space",
            format!(
                "{mib} MiB free in {}: a member's batches need 64 MiB",
                folder.display()
            ),
            Some("free space on that disk, or move consumer.output_dir".to_owned()),
        )
    } else if free < FREE_COMFORTABLY {
        Check::warn(
            "output",
            "free space",
            format!("{mib} MiB free in {}", folder.display()),
            "the file grows with every record: give it more room".to_owned(),
        )
    } else {
        Check::ok(
            "output",
            "free space",
            format!("{mib} MiB free in {}", folder.display()),
        )
    }
}
