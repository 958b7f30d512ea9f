//! `sluice-registry`: the schema registry as a user of sluice needs it, from the command line:
//! list subjects and versions, show a schema, check a candidate before it breaks consumers,
//! register it, and read or set a subject's compatibility level. `--json` for scripts.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use sluice_common::settings::{self, Layers, SharedArgs};
use sluice_registry::{why_refused, CompatibilityLevel, RegistryClient, RegistryError, SchemaFile};

/// Inspect and evolve the schemas sluice writes, through the registry's Confluent API.
#[derive(Debug, Parser)]
#[command(name = "sluice-registry", version)]
struct Cli {
    #[command(flatten)]
    shared: SharedArgs,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every subject.
    Subjects,
    /// List the versions of a subject.
    Versions {
        /// The subject, e.g. product_updates-value.
        subject: String,
    },
    /// Show one version of a subject (the latest by default).
    Show {
        /// The subject.
        subject: String,
        /// Version number; the latest when omitted.
        version: Option<u32>,
    },
    /// Check whether a schema file could be registered without breaking compatibility;
    /// exits 1 and says why when it could not.
    Check {
        /// The .avsc file.
        schema: String,
        /// Subject to check against; `<kafka.topic>-value` by default.
        #[arg(long)]
        subject: Option<String>,
    },
    /// Register a schema file under a subject; refused when it breaks compatibility.
    Register {
        /// The .avsc file.
        schema: String,
        /// Subject to register under; `<kafka.topic>-value` by default.
        #[arg(long)]
        subject: Option<String>,
    },
    /// Read or set a subject's compatibility level.
    Compat {
        #[command(subcommand)]
        action: CompatAction,
    },
    /// Print the settings it would use and where each came from (secrets redacted).
    Config,
}

#[derive(Debug, Subcommand)]
enum CompatAction {
    /// Print the subject's level (or the global one it falls back to).
    Get {
        /// The subject; `<kafka.topic>-value` by default.
        #[arg(long)]
        subject: Option<String>,
    },
    /// Set the subject's level: NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD,
    /// FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE.
    Set {
        /// The level.
        level: CompatibilityLevel,
        /// The subject; `<kafka.topic>-value` by default.
        #[arg(long)]
        subject: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.shared.log);
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            sluice_common::exit::print("sluice-registry", error.as_ref());
            ExitCode::from(2)
        }
    }
}

/// `Ok(false)` is a negative answer (an incompatible schema), not a failure to answer.
async fn run(cli: Cli) -> anyhow::Result<bool> {
    let kind = match cli.command {
        Command::Config => settings::CommandKind::Config { json: cli.json },
        _ => settings::CommandKind::Other,
    };
    let Ok(settings) =
        settings::settings_for("sluice-registry", &Layers::from(&cli.shared.config), kind)?
    else {
        return Ok(true);
    };
    let client = RegistryClient::new(&settings.registry)?;
    let default_subject = |subject: Option<String>| {
        subject.unwrap_or_else(|| format!("{}-value", settings.kafka.topic))
    };
    let json = cli.json;
    match cli.command {
        // Printed by settings_for, which returned above.
        Command::Config => {}
        Command::Subjects => {
            let subjects = client.subjects().await?;
            print(json, &json!(subjects), || subjects.join("\n"));
        }
        Command::Versions { subject } => {
            let versions = client.versions(&subject).await?;
            print(json, &json!(versions), || {
                versions
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Show { subject, version } => {
            let found = client.version(&subject, version).await?;
            let pretty = serde_json::from_str::<serde_json::Value>(&found.schema)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| found.schema.clone());
            print(json, &json!(found), || {
                format!(
                    "subject {} version {} (schema id {})\n{pretty}",
                    found.subject, found.version, found.id
                )
            });
        }
        Command::Check { schema, subject } => {
            return check(&client, &schema, &default_subject(subject), json).await;
        }
        Command::Register { schema, subject } => {
            let subject = default_subject(subject);
            let file = SchemaFile::load(&schema)?;
            match client.register(&subject, &file.registered_text()).await {
                Ok(id) => print(json, &json!({ "subject": subject, "id": id }), || {
                    format!("registered {schema} under {subject}: schema id {id}")
                }),
                Err(RegistryError::Incompatible { message, .. }) => {
                    print(
                        json,
                        &json!({ "subject": subject, "registered": false, "reason": message }),
                        || format!("REFUSED: {schema} is incompatible with {subject}: {message}"),
                    );
                    return Ok(false);
                }
                Err(other) => return Err(other.into()),
            }
        }
        Command::Compat { action } => match action {
            CompatAction::Get { subject } => {
                let subject = default_subject(subject);
                let own = client.subject_compatibility(&subject).await?;
                let level = match own {
                    Some(level) => level,
                    None => client.global_compatibility().await?,
                };
                let origin = if own.is_some() { "subject" } else { "global" };
                print(
                    json,
                    &json!({ "subject": subject, "compatibility": level, "from": origin }),
                    || format!("{subject}: {level} ({origin})"),
                );
            }
            CompatAction::Set { level, subject } => {
                let subject = default_subject(subject);
                client.set_subject_compatibility(&subject, level).await?;
                print(
                    json,
                    &json!({ "subject": subject, "compatibility": level }),
                    || format!("{subject}: compatibility set to {level}"),
                );
            }
        },
    }
    Ok(true)
}

async fn check(
    client: &RegistryClient,
    schema: &str,
    subject: &str,
    json: bool,
) -> anyhow::Result<bool> {
    let file = SchemaFile::load(schema)?;
    let verdict = client
        .test_compatibility(subject, &file.registered_text())
        .await?;
    if verdict.is_compatible {
        print(
            json,
            &json!({ "subject": subject, "compatible": true }),
            || format!("compatible: {schema} can be registered under {subject}"),
        );
        return Ok(true);
    }
    let mut reasons = verdict.messages.clone();
    if reasons.is_empty() {
        reasons.push(
            why_refused(client, subject, &file.schema)
                .await
                .map_err(anyhow::Error::msg)?,
        );
    }
    print(
        json,
        &json!({ "subject": subject, "compatible": false, "reasons": reasons }),
        || {
            format!(
                "INCOMPATIBLE: {schema} cannot be registered under {subject}: {}",
                reasons.join("; ")
            )
        },
    );
    Ok(false)
}

fn print(json: bool, value: &serde_json::Value, text: impl FnOnce() -> String) {
    if json {
        println!("{value}");
    } else {
        println!("{}", text());
    }
}
