//! The registry's line in a `check` command.

use sluice_common::preflight::Probe;
use sluice_common::settings::RegistrySettings;

use crate::{RegistryClient, RegistryError};

/// Lists subjects and reads the global compatibility level: proof that the URL points at a
/// Confluent-compatible API, not just at some web server.
pub async fn probe_registry(settings: &RegistrySettings) -> Probe {
    let outcome = async {
        let client = RegistryClient::new(settings)?;
        let subjects = client.subjects().await?;
        let level = client.global_compatibility().await?;
        Ok::<_, RegistryError>(format!(
            "{} subject(s), global compatibility {level}",
            subjects.len()
        ))
    }
    .await
    .map_err(|e| e.to_string());
    Probe {
        service: "registry",
        address: settings.url.clone(),
        outcome,
    }
}
