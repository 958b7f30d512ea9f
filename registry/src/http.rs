//! The one way sluice builds an HTTP client.
//!
//! TLS is rustls with the *ring* crypto provider, the one sqlx already links, so no second
//! crypto library is compiled. reqwest asks rustls for the process's default provider when a
//! client is built; every client therefore comes from [`client_builder`], which installs ring
//! first (once per process; a provider installed earlier by someone else is kept).

use std::sync::Once;

/// A reqwest client builder whose clients can speak TLS.
pub fn client_builder() -> reqwest::ClientBuilder {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Err means a provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// GET `url` with a fresh client: for one-off reads (metrics, Prometheus's API) in tools and
/// tests.
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    client_builder().build()?.get(url).send().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_with_tls_support() {
        client_builder().build().expect("a client");
        // A second builder in the same process finds the provider installed.
        client_builder().build().expect("a second client");
    }
}
