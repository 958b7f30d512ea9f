//! Why a registry call failed, in terms a user can act on.

/// A registry call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No HTTP answer at all: wrong URL, registry down, or a timeout.
    #[error("cannot reach the schema registry at {url}: {cause}")]
    Unreachable {
        /// The URL that was called.
        url: String,
        /// What the HTTP client reported, with its underlying causes.
        cause: String,
    },
    /// The registry refused a schema because it breaks compatibility with the subject's history.
    #[error("schema refused as incompatible with subject `{subject}`: {message}")]
    Incompatible {
        /// The subject the schema was registered under.
        subject: String,
        /// The registry's own explanation.
        message: String,
    },
    /// The subject, version or schema id does not exist.
    #[error("not found in the schema registry: {what} ({message})")]
    NotFound {
        /// What was looked up, e.g. `schema id 7`.
        what: String,
        /// The registry's own explanation.
        message: String,
    },
    /// Any other error status.
    #[error("schema registry answered {status} to {method} {url}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The HTTP method.
        method: &'static str,
        /// The URL that was called.
        url: String,
        /// The registry's own explanation, or the raw body.
        message: String,
    },
    /// A 2xx answer whose body is not what the API promises.
    #[error("unexpected answer from the schema registry to {url}: {reason}")]
    BadResponse {
        /// The URL that was called.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The configured URL cannot be used.
    #[error("invalid schema registry configuration: {0}")]
    Config(String),
}

impl sluice_common::retry::Transient for RegistryError {
    /// No answer, or a server error: the registry may be starting or restarting.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            RegistryError::Unreachable { .. } | RegistryError::Status { status: 500.., .. }
        )
    }
}
