//! One method per Confluent REST endpoint sluice uses. Each works against Confluent's registry
//! and Apicurio's `/apis/ccompat/v7` alike; where the two answer differently, the method says how
//! it reads both.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{lock, CompatibilityLevel, RegistryClient, SchemaId};
use crate::error::RegistryError;

/// A subject's version with its schema, as `GET /subjects/{subject}/versions/{version}` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectVersion {
    /// The subject.
    pub subject: String,
    /// Version number within the subject, from 1.
    pub version: u32,
    /// The schema's global id, the one records carry.
    pub id: SchemaId,
    /// The schema text.
    pub schema: String,
}

/// The registry's verdict on a candidate schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompatibilityVerdict {
    /// Whether the subject's rule accepts the candidate.
    pub is_compatible: bool,
    /// The registry's reasons, when it gives any (Confluent with `verbose=true`; Apicurio
    /// gives none).
    #[serde(default)]
    pub messages: Vec<String>,
}

#[derive(Deserialize)]
struct IdAnswer {
    id: SchemaId,
}

#[derive(Deserialize)]
struct SchemaAnswer {
    schema: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigAnswer {
    compatibility_level: CompatibilityLevel,
}

impl RegistryClient {
    /// Registers `schema` (Avro JSON) under `subject` and returns its id; registering a schema
    /// that is already there returns the existing id. A schema the subject's rule refuses is
    /// [`RegistryError::Incompatible`] with the registry's reason.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<SchemaId, RegistryError> {
        let url = self.url(&["subjects", subject, "versions"]);
        let body = json!({ "schema": schema, "schemaType": "AVRO" });
        let answer: IdAnswer = self
            .call(Method::POST, url, Some(body))
            .await
            .map_err(|e| e.incompatible_for(subject))?;
        Ok(answer.id)
    }

    /// The schema text registered under `id`, fetched once and then served from memory.
    pub async fn schema_by_id(&self, id: SchemaId) -> Result<String, RegistryError> {
        if let Some(schema) = lock(&self.by_id).get(&id) {
            return Ok(schema.clone());
        }
        self.schema_by_id_uncached(id).await
    }

    /// The same, asked of the registry even when known: whether it serves an id now (a
    /// registry replaying its storage after a restart answers "not found" for ids it has).
    pub async fn schema_by_id_uncached(&self, id: SchemaId) -> Result<String, RegistryError> {
        let url = self.url(&["schemas", "ids", &id.to_string()]);
        let answer: SchemaAnswer = self.call(Method::GET, url, None).await?;
        lock(&self.by_id).insert(id, answer.schema.clone());
        Ok(answer.schema)
    }

    /// Every subject the registry knows.
    pub async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        self.call(Method::GET, self.url(&["subjects"]), None).await
    }

    /// The version numbers of `subject`, oldest first.
    pub async fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        self.call(
            Method::GET,
            self.url(&["subjects", subject, "versions"]),
            None,
        )
        .await
    }

    /// One version of `subject`: a number, or `None` for the latest.
    pub async fn version(
        &self,
        subject: &str,
        version: Option<u32>,
    ) -> Result<SubjectVersion, RegistryError> {
        let version = version.map_or_else(|| "latest".to_owned(), |v| v.to_string());
        self.call(
            Method::GET,
            self.url(&["subjects", subject, "versions", &version]),
            None,
        )
        .await
    }

    /// Whether `schema` could be registered under `subject` now. A subject with no versions
    /// accepts anything.
    pub async fn test_compatibility(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<CompatibilityVerdict, RegistryError> {
        let mut url = self.url(&["compatibility", "subjects", subject, "versions", "latest"]);
        url.query_pairs_mut().append_pair("verbose", "true");
        let body = json!({ "schema": schema, "schemaType": "AVRO" });
        match self.call(Method::POST, url, Some(body)).await {
            Err(RegistryError::NotFound { .. }) => Ok(CompatibilityVerdict {
                is_compatible: true,
                messages: Vec::new(),
            }),
            other => other,
        }
    }

    /// The level applied to subjects that set none of their own.
    pub async fn global_compatibility(&self) -> Result<CompatibilityLevel, RegistryError> {
        let answer: ConfigAnswer = self.call(Method::GET, self.url(&["config"]), None).await?;
        Ok(answer.compatibility_level)
    }

    /// The subject's own level, `None` when it has none. (Apicurio answers the global level
    /// for an existing subject without one of its own; Confluent answers 404.)
    pub async fn subject_compatibility(
        &self,
        subject: &str,
    ) -> Result<Option<CompatibilityLevel>, RegistryError> {
        match self
            .call::<ConfigAnswer>(Method::GET, self.url(&["config", subject]), None)
            .await
        {
            Ok(answer) => Ok(Some(answer.compatibility_level)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Sets the subject's own level.
    pub async fn set_subject_compatibility(
        &self,
        subject: &str,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        let body = json!({ "compatibility": level });
        let _: serde_json::Value = self
            .call(Method::PUT, self.url(&["config", subject]), Some(body))
            .await?;
        Ok(())
    }
}
