//! `sluice-verify`: judges the consumers' JSON files against the table and the dead-letter
//! topic. Exit status 0 when clean, 1 on any violation, 2 when it cannot judge.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use apache_avro::Schema;
use clap::Parser;
use futures::TryStreamExt;
use sluice_common::settings::{self, AsJson, Layers, Settings, SharedArgs};
use sluice_verify::expected::Expectation;
use sluice_verify::judge::Judge;
use sluice_verify::key_order::{KeyOrder, KeyType};
use sluice_verify::report::Report;
use sluice_verify::schema_in_use::{field_type, reader_schema};
use sluice_verify::table::TableReader;
use sluice_verify::{dead_letters, journal, lines};
use sqlx::MySqlPool;

/// Checks the JSON files against the table: every row's latest version present and transformed,
/// no line twice, no torn line, versions only moving forward, dead letters accounted for.
#[derive(Debug, Parser)]
#[command(name = "sluice-verify", version)]
struct Cli {
    #[command(flatten)]
    shared: SharedArgs,
    /// A folder of the members' `*.jsonl` files (default: consumer.output_dir); given several
    /// times, the files of every folder are judged together (members on several hosts).
    #[arg(long)]
    output_dir: Vec<PathBuf>,
    /// Leaves the dead-letter topic unread: a row that was dead-lettered counts as missing.
    #[arg(long)]
    no_dead_letters: bool,
    /// The load generator's journal of committed updates (`sluice-loadgen simulate --journal`):
    /// also checks every update of a product from the first one seen on is in the files once,
    /// in commit order (for a source that publishes every change: `producer.source = "binlog"`).
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Prints the report as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the settings it would judge with and where each came from (secrets redacted).
    Config(AsJson),
}

/// How long reading the dead-letter topic to its end may take.
const DEAD_LETTER_PATIENCE: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.shared.log);
    if let Some(Command::Config(AsJson { json })) = cli.command {
        return print_config(&cli, json);
    }
    match verify(&cli).await {
        Ok(report) => {
            if cli.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(error) => {
                        eprintln!("sluice-verify: {error}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                println!("{report}");
            }
            if report.violations() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            sluice_common::exit::print("sluice-verify", error.as_ref());
            ExitCode::from(2)
        }
    }
}

/// `sluice-verify config`: exit 0, or 2 when the settings do not load.
fn print_config(cli: &Cli, json: bool) -> ExitCode {
    let kind = settings::CommandKind::Config { json };
    match settings::settings_for("sluice-verify", &Layers::from(&cli.shared.config), kind) {
        Ok(Ok(_)) => ExitCode::SUCCESS,
        Ok(Err(code)) => code,
        Err(error) => {
            sluice_common::exit::print("sluice-verify", &error);
            ExitCode::from(2)
        }
    }
}

async fn verify(cli: &Cli) -> anyhow::Result<Report> {
    let loaded = settings::load_explained(&Layers::from(&cli.shared.config))?;
    tracing::info!("{}", loaded.provenance.summary());
    let settings = loaded.settings;
    let folders = if cli.output_dir.is_empty() {
        vec![PathBuf::from(&settings.consumer.output_dir)]
    } else {
        cli.output_dir.clone()
    };
    let expectation = expectation(&settings)?;
    lines::readable(&folders)?;
    let pool = sluice_common::mysql::connect(&settings.mysql, 1).await?;
    let schema = reader_schema(&settings).await?;
    let given = Given {
        cli,
        settings: &settings,
        folders: &folders,
        expectation: &expectation,
        pool: &pool,
        schema: &schema,
    };
    let mut attempt = 1;
    loop {
        match verify_once(&given).await {
            Err(error) if attempt < SCANS && output_changed(&error) => {
                tracing::warn!("{error}; scanning again ({attempt} of {SCANS} scans made)");
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// How many times the files are scanned when they change under the verifier before it gives
/// up (exit 2).
const SCANS: u32 = 5;

/// Whether `error` says the files changed between their scan and a read-back.
fn output_changed(error: &anyhow::Error) -> bool {
    use sluice_verify::journal::JournalError;
    use sluice_verify::read_back::ReadBackError;
    use sluice_verify::VerifyError;
    matches!(
        error.downcast_ref::<VerifyError>(),
        Some(VerifyError::LineReadBack(ReadBackError::Changed(_)))
    ) || matches!(
        error.downcast_ref::<JournalError>(),
        Some(JournalError::Changed(_))
    )
}

/// What every scan is judged with.
struct Given<'a> {
    cli: &'a Cli,
    settings: &'a Settings,
    folders: &'a [PathBuf],
    expectation: &'a Expectation,
    pool: &'a MySqlPool,
    schema: &'a Schema,
}

/// One scan of the files, judged.
async fn verify_once(given: &Given<'_>) -> anyhow::Result<Report> {
    let (cli, settings, folders) = (given.cli, given.settings, given.folders);
    let started = Instant::now();
    let key = settings.producer.key_column.clone();
    let timestamp = settings.producer.timestamp_column.clone();
    let mut keys = KeyOrder::new(KeyType::of_field(field_type(given.schema, &key)));
    let mut scan = lines::scan(folders, &key, &timestamp, &mut keys)?;
    tracing::info!(
        "read {} lines in {} files of {} in {:.1} s",
        scan.lines,
        scan.files.len(),
        folders
            .iter()
            .map(|folder| folder.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
    let dead = if cli.no_dead_letters {
        dead_letters::DeadLetterKeys::default()
    } else {
        let kafka = settings.kafka.clone();
        let acls = sluice_common::acls::verify(settings);
        tokio::task::spawn_blocking(move || dead_letters::read(&kafka, &acls, DEAD_LETTER_PATIENCE))
            .await??
    };
    let versions = std::mem::take(&mut scan.versions);
    let judged = Judged {
        scan: &scan,
        expectation: given.expectation,
        dead_letter_keys: &dead.keys,
        keys,
        schema: given.schema,
    };
    let report = judge(settings, given.pool, versions, judged).await?;
    let journal = match &cli.journal {
        Some(path) => {
            let committed = journal::read(path)?;
            let carried = journal::carried(&scan, &committed)?;
            Some(journal::judge(&committed, carried))
        }
        None => None,
    };
    tracing::info!("judged in {:.1} s", started.elapsed().as_secs_f64());
    Ok(Report {
        files: scan.files.len() as u64,
        lines: scan.lines,
        dead_letters: dead.total(),
        journal,
        ..report
    })
}

fn expectation(settings: &Settings) -> Result<Expectation, settings::SettingsError> {
    Expectation::new(
        &settings.transform,
        &settings.producer.key_column,
        &settings.producer.timestamp_column,
    )
}

/// What the lines are judged with, besides the table.
struct Judged<'a> {
    scan: &'a lines::Scan,
    expectation: &'a Expectation,
    dead_letter_keys: &'a HashSet<Vec<u8>>,
    keys: KeyOrder,
    schema: &'a Schema,
}

async fn judge(
    settings: &Settings,
    pool: &MySqlPool,
    versions: Vec<lines::Version>,
    judged: Judged<'_>,
) -> anyhow::Result<Report> {
    let key = &settings.producer.key_column;
    let table = TableReader::new(
        pool,
        &settings.mysql.table,
        key,
        &judged.keys,
        judged.schema,
    )
    .await?;
    let mut reader = sluice_verify::read_back::LineReader::of(judged.scan);
    let mut judge = Judge::new(
        versions,
        &judged.scan.torn,
        judged.expectation,
        judged.dead_letter_keys,
        judged.keys,
        key,
        &settings.producer.timestamp_column,
    )
    .soft_deleted_by(settings.producer.deleted_column());
    let mut rows = table.rows(pool);
    while let Some(row) = rows.try_next().await? {
        judge.row(&row, |version| reader.read(version))?;
    }
    Ok(judge.finish())
}
