//! Registering the writer schema under the topic's subject, at start and after the table
//! changed: the subject gets the configured compatibility level when it has none, and a schema
//! that breaks the level is refused by the registry before any record is written under it.

use sluice_common::events::Event;
use sluice_registry::{CompatibilityLevel, RegistryClient, RegistryError, SchemaId};

use crate::events::SchemaRegistration;
use crate::metrics::ProducerMetrics;

/// Gives the subject the configured compatibility level when it has none of its own, then
/// registers the schema: the registry refuses one that breaks the level, with its reason, before
/// any record is written.
pub async fn register(
    registry: &RegistryClient,
    subject: &str,
    level: CompatibilityLevel,
    schema: &str,
    metrics: &ProducerMetrics,
) -> Result<SchemaId, RegistryError> {
    let outcome = async {
        if registry.subject_compatibility(subject).await?.is_none() {
            registry.set_subject_compatibility(subject, level).await?;
            tracing::info!("subject {subject} had no compatibility level; set it to {level}");
        }
        registry.register(subject, schema).await
    }
    .await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(RegistryError::Incompatible { .. }) => "refused",
        Err(_) => "error",
    };
    SchemaRegistration {
        outcome: label,
        subject,
        requests: &metrics.registry_requests,
    }
    .emit();
    outcome
}
