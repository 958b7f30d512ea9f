//! The registry's lines in a `check` command: that the URL is a Confluent-compatible API, and
//! whether a schema could be registered under its subject now (asked, not registered).

use sluice_common::preflight::Check;
use sluice_common::settings::RegistrySettings;

use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::explain::why_refused;
use crate::schema_file::SchemaFile;

/// Lists subjects and reads the global compatibility level: proof that the URL points at a
/// Confluent-compatible API, not just at some web server.
pub async fn registry_check(settings: &RegistrySettings) -> Check {
    let outcome = async {
        let client = RegistryClient::new(settings)?;
        let subjects = client.subjects().await?;
        let level = client.global_compatibility().await?;
        Ok::<_, RegistryError>(format!(
            "{}: {} subject(s), global compatibility {level}",
            settings.url,
            subjects.len()
        ))
    }
    .await;
    match outcome {
        Ok(seen) => Check::ok("registry", "connection", seen),
        Err(error) => Check::failed(
            "registry",
            "connection",
            format!("{}: {error}", settings.url),
            Some(
                "start the registry, or check registry.url (Apicurio: …/apis/ccompat/v7), \
                 registry.username and its password"
                    .to_owned(),
            ),
        ),
    }
}

/// Whether `schema` could be registered under `subject` now, by the registry's own
/// compatibility test.
pub async fn schema_check(
    settings: &RegistrySettings,
    subject: &str,
    schema: &SchemaFile,
) -> Check {
    let client = match RegistryClient::new(settings) {
        Ok(client) => client,
        Err(error) => return Check::failed("registry", "schema", error.to_string(), None),
    };
    let verdict = client
        .test_compatibility(subject, &schema.registered_text())
        .await;
    match verdict {
        Ok(verdict) if verdict.is_compatible => Check::ok(
            "registry",
            "schema",
            format!("compatible with what `{subject}` holds"),
        ),
        Ok(verdict) => Check::failed(
            "registry",
            "schema",
            format!("`{subject}` refuses {}: {}", schema.path.display(), {
                let mut reasons = verdict.messages.clone();
                if reasons.is_empty() {
                    reasons.push(
                        why_refused(&client, subject, &schema.schema)
                            .await
                            .unwrap_or_else(|why| why),
                    );
                }
                reasons.join("; ")
            }),
            Some(
                "give the new fields defaults, or register a compatible version first \
                 (docs/schema-evolution.md)"
                    .to_owned(),
            ),
        ),
        Err(error) => Check::failed("registry", "schema", error.to_string(), None),
    }
}
