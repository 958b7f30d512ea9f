//! Against the local stack's registry (`make up`): schemas register and come back by id through
//! the Confluent API, and BACKWARD compatibility is enforced as Confluent's registry does.

use sluice_common::settings::Settings;
use sluice_registry::{CompatibilityLevel, RegistryClient, RegistryError};

fn client() -> RegistryClient {
    RegistryClient::new(&Settings::default().registry).expect("client")
}

fn subject(name: &str) -> String {
    format!("it-{name}-{}-{}", std::process::id(), nanos())
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// A record schema with a per-test name, so ids are not shared with other tests' schemas.
fn schema(name: &str, field_type: &str) -> String {
    format!(
        r#"{{"type":"record","name":"{name}","fields":[{{"name":"id","type":"int"}},{{"name":"price","type":"{field_type}"}}]}}"#
    )
}

fn parsed(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("schema is JSON")
}

#[tokio::test]
async fn registered_schema_comes_back_by_id() {
    let client = client();
    let subject = subject("roundtrip");
    let record = format!("Roundtrip{}", nanos());
    let schema = schema(&record, "float");
    let id = client.register(&subject, &schema).await.expect("register");
    let fetched = client.schema_by_id(id).await.expect("fetch by id");
    assert_eq!(parsed(&fetched), parsed(&schema));

    let again = client
        .register(&subject, &schema)
        .await
        .expect("register again");
    assert_eq!(again, id, "the same schema keeps its id");
    assert!(client
        .subjects()
        .await
        .expect("subjects")
        .contains(&subject));
}

#[tokio::test]
async fn global_compatibility_is_backward_like_confluent() {
    let level = client().global_compatibility().await.expect("config");
    assert_eq!(level, CompatibilityLevel::Backward);
}

#[tokio::test]
async fn changing_a_field_type_is_refused_with_409() {
    let client = client();
    let subject = subject("incompatible");
    let record = format!("Incompatible{}", nanos());
    client
        .register(&subject, &schema(&record, "float"))
        .await
        .expect("first version");
    let refused = client.register(&subject, &schema(&record, "string")).await;
    match refused {
        Err(RegistryError::Incompatible {
            subject: s,
            message,
        }) => {
            assert_eq!(s, subject);
            assert!(!message.is_empty());
        }
        other => panic!("expected a 409 refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_id_is_not_found() {
    let missing = client().schema_by_id(u32::MAX - 1).await;
    assert!(
        matches!(missing, Err(RegistryError::NotFound { .. })),
        "{missing:?}"
    );
}
