//! Why a schema breaks compatibility, worked out locally with apache-avro's resolution rules:
//! some registries (Apicurio) answer only "not compatible" on the check endpoint.

use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::Schema;

use crate::client::{CompatibilityLevel, RegistryClient};

/// The reason `candidate` breaks `level` against `existing` (the subject's latest version), or
/// `None` when the local rules find none. Transitive levels are explained against the latest
/// version only.
pub fn explain_incompatibility(
    candidate: &Schema,
    existing: &Schema,
    level: CompatibilityLevel,
) -> Option<String> {
    use CompatibilityLevel as L;
    let backward = || {
        SchemaCompatibility::can_read(existing, candidate)
            .err()
            .map(|e| format!("new readers cannot read existing data: {e}"))
    };
    let forward = || {
        SchemaCompatibility::can_read(candidate, existing)
            .err()
            .map(|e| format!("existing readers cannot read new data: {e}"))
    };
    match level {
        L::None => None,
        L::Backward | L::BackwardTransitive => backward(),
        L::Forward | L::ForwardTransitive => forward(),
        L::Full | L::FullTransitive => backward().or_else(forward),
    }
}

/// Why `subject` refuses `candidate`, when the registry said no without saying why: explained
/// locally against its latest version under its level.
pub async fn why_refused(
    client: &RegistryClient,
    subject: &str,
    candidate: &Schema,
) -> Result<String, String> {
    let latest = client
        .version(subject, None)
        .await
        .map_err(|e| e.to_string())?;
    let existing = Schema::parse_str(&latest.schema)
        .map_err(|e| format!("latest schema of {subject} does not parse: {e}"))?;
    let level = match client
        .subject_compatibility(subject)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(level) => level,
        None => client
            .global_compatibility()
            .await
            .map_err(|e| e.to_string())?,
    };
    match explain_incompatibility(candidate, &existing, level) {
        Some(reason) => Ok(format!(
            "{reason} (level {level}, against version {})",
            latest.version
        )),
        None => Err(format!(
            "the registry refuses the schema under level {level} but gives no reason"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"P","fields":[{fields}]}}"#
        ))
        .expect("schema")
    }

    #[test]
    fn adding_a_field_with_a_default_is_backward_compatible() {
        let v1 = schema(r#"{"name":"id","type":"int"}"#);
        let v2 = schema(r#"{"name":"id","type":"int"},{"name":"stock","type":"int","default":0}"#);
        assert_eq!(
            explain_incompatibility(&v2, &v1, CompatibilityLevel::Backward),
            None
        );
    }

    #[test]
    fn adding_a_field_without_a_default_is_explained() {
        let v1 = schema(r#"{"name":"id","type":"int"}"#);
        let v2 = schema(r#"{"name":"id","type":"int"},{"name":"stock","type":"int"}"#);
        let why =
            explain_incompatibility(&v2, &v1, CompatibilityLevel::Backward).expect("a reason");
        assert!(why.contains("stock"), "{why}");
    }

    #[test]
    fn changing_a_type_is_explained() {
        let v1 = schema(r#"{"name":"id","type":"int"}"#);
        let v2 = schema(r#"{"name":"id","type":"string"}"#);
        assert!(explain_incompatibility(&v2, &v1, CompatibilityLevel::Backward).is_some());
    }
}
