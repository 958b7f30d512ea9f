//! The HTTP calls, one method per endpoint. Only the parts of the API both Confluent's registry
//! and Apicurio's ccompat layer serve are used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sluice_common::events::ErrorKind;
use sluice_common::exit::describe;
use sluice_common::retry::{self, Policy};
use sluice_common::settings::RegistrySettings;

use crate::error::RegistryError;

/// The id the registry gives a schema: it is what the Confluent wire format carries in each
/// record, so it must never change once records use it.
pub type SchemaId = u32;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// A call the registry gives no answer at all is tried twice more, 200 ms and 400 ms later
/// (see `send_with_retries`).
const SEND_POLICY: Policy =
    Policy::doubling(Duration::from_millis(200), Duration::from_millis(400)).at_most(2);

pub use sluice_common::settings::CompatibilityLevel;

/// A client for one registry; cheap to clone, safe to share between tasks.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    base: Url,
    credentials: Option<(String, String)>,
    /// Schemas by id: an id names one schema forever, so a lookup never needs repeating.
    pub(crate) by_id: Arc<Mutex<HashMap<SchemaId, String>>>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    message: String,
}

impl RegistryClient {
    /// A client for the configured base URL (the Confluent API root).
    pub fn new(settings: &RegistrySettings) -> Result<Self, RegistryError> {
        let base = Url::parse(&settings.url)
            .map_err(|e| RegistryError::Config(format!("registry.url `{}`: {e}", settings.url)))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(RegistryError::Config(format!(
                "registry.url `{}` is not an http(s) URL",
                settings.url
            )));
        }
        let mut builder =
            crate::http::client_builder().timeout(Duration::from_secs(settings.timeout_secs));
        if !settings.ca_file.is_empty() {
            let pem = std::fs::read(&settings.ca_file).map_err(|e| {
                RegistryError::Config(format!("registry.ca_file `{}`: {e}", settings.ca_file))
            })?;
            let certificate = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                RegistryError::Config(format!("registry.ca_file `{}`: {e}", settings.ca_file))
            })?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        let credentials = (!settings.username.is_empty())
            .then(|| (settings.username.clone(), settings.password.clone()));
        Ok(Self {
            http,
            base,
            credentials,
            by_id: Arc::default(),
        })
    }

    /// Sends a request, retrying when a connection failed after it was made. A pooled
    /// connection to a registry that restarted fails once before a fresh one is opened; every
    /// call this client makes is idempotent (registering a schema again returns its id), so a
    /// retry is safe. A registry that refuses connections or does not answer in time is away:
    /// that is the caller's to wait for, by its own policy, so one wait is not nested in
    /// another.
    async fn send_with_retries(
        &self,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let send = || {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, CONTENT_TYPE);
            if let Some((user, password)) = &self.credentials {
                request = request.basic_auth(user, Some(password));
            }
            if let Some(body) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                    .body(body.to_string());
            }
            request.send()
        };
        let what = format!("the schema registry at {url}");
        retry::retry_bounded(SEND_POLICY, ErrorKind::Registry, &what, send, |error| {
            !error.is_timeout() && !error.is_connect()
        })
        .await
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
    ) -> Result<T, RegistryError> {
        let method_name = method_name(&method);
        let unreachable = |error: reqwest::Error| RegistryError::Unreachable {
            url: url.to_string(),
            cause: describe(&error),
        };
        let response = self
            .send_with_retries(method, &url, body.as_ref())
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| RegistryError::BadResponse {
                url: url.to_string(),
                reason: format!("{e}: {}", one_line(&text)),
            });
        }
        let message = serde_json::from_str::<ErrorAnswer>(&text)
            .map(|e| e.message)
            .unwrap_or_else(|_| one_line(&text));
        Err(match status {
            StatusCode::NOT_FOUND => RegistryError::NotFound {
                what: url.path().to_owned(),
                message,
            },
            _ => RegistryError::Status {
                status: status.as_u16(),
                method: method_name,
                url: url.to_string(),
                message,
            },
        })
    }
}

impl RegistryError {
    /// A 409 on registration means the schema breaks the subject's compatibility rule.
    pub(crate) fn incompatible_for(self, subject: &str) -> Self {
        match self {
            RegistryError::Status {
                status: 409,
                message,
                ..
            } => RegistryError::Incompatible {
                subject: subject.to_owned(),
                message,
            },
            other => other,
        }
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "GET",
    }
}

/// Locks a cache; a poisoned lock still holds valid entries (each insert is one call).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Error bodies can be HTML pages or stack traces; keep the message on one line and short.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> RegistryClient {
        RegistryClient::new(&RegistrySettings {
            url: url.into(),
            timeout_secs: 1,
            ..RegistrySettings::default()
        })
        .expect("valid url")
    }

    #[test]
    fn urls_join_segments_whatever_the_trailing_slash() {
        for base in [
            "http://h:8081/apis/ccompat/v7",
            "http://h:8081/apis/ccompat/v7/",
        ] {
            let url = client(base).url(&["subjects", "product_updates-value", "versions"]);
            assert_eq!(
                url.as_str(),
                "http://h:8081/apis/ccompat/v7/subjects/product_updates-value/versions"
            );
        }
    }

    #[test]
    fn subject_names_are_escaped_in_paths() {
        let url = client("http://h:8081").url(&["subjects", "a/b c"]);
        assert_eq!(url.as_str(), "http://h:8081/subjects/a%2Fb%20c");
    }

    #[test]
    fn non_http_url_is_a_config_error() {
        let err = RegistryClient::new(&RegistrySettings {
            url: "registry:8081".into(),
            ..RegistrySettings::default()
        })
        .expect_err("must be refused");
        assert!(matches!(err, RegistryError::Config(_)), "{err}");
    }

    #[test]
    fn long_error_bodies_are_cut_to_one_line() {
        let body = "line one\n".repeat(100);
        let line = one_line(&body);
        assert!(!line.contains('\n'));
        assert!(line.chars().count() <= 301);
    }

    #[test]
    fn conflict_on_registration_means_incompatible() {
        let err = RegistryError::Status {
            status: 409,
            method: "POST",
            url: "u".into(),
            message: "field changed".into(),
        }
        .incompatible_for("s");
        assert!(matches!(err, RegistryError::Incompatible { ref subject, .. } if subject == "s"));
    }
}
