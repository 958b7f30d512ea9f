//! The small HTTP server behind `/metrics` and `/health`.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;

use super::{ProcessMetrics, Readiness};

/// The metrics port could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve metrics on {address} (choose another port in [metrics])")]
pub struct ServeError {
    /// The address asked for.
    pub address: String,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

/// Binds `address` (port 0 picks a free one) and serves `/metrics`, `/health` (readiness) and
/// `/health/live` (liveness) in the background; returns the address actually bound.
pub async fn serve(
    address: &str,
    registry: Registry,
    process: ProcessMetrics,
    readiness: Readiness,
) -> Result<SocketAddr, ServeError> {
    let failed = |source| ServeError {
        address: address.to_owned(),
        source,
    };
    let listener = TcpListener::bind(address).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (registry, process, readiness) =
                (registry.clone(), process.clone(), readiness.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let answer = respond(&request, &registry, &process, &readiness);
                    async move { Ok::<_, Infallible>(answer) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(bound)
}

fn respond(
    request: &Request<Incoming>,
    registry: &Registry,
    process: &ProcessMetrics,
    readiness: &Readiness,
) -> Response<Full<Bytes>> {
    match request.uri().path() {
        "/metrics" => {
            process.refresh();
            let mut body = Vec::new();
            match TextEncoder::new().encode(&registry.gather(), &mut body) {
                Ok(()) => answer(StatusCode::OK, prometheus::TEXT_FORMAT, body),
                Err(error) => answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    error.to_string().into_bytes(),
                ),
            }
        }
        // Liveness: the process and its runtime answer. A process that cannot go on exits
        // with its reason rather than hang, so a liveness probe restarts only a wedged one;
        // readiness (below) says whether it does its work now.
        "/health/live" => answer(StatusCode::OK, "text/plain", b"live\n".to_vec()),
        "/health" if readiness.is_ready() => {
            answer(StatusCode::OK, "text/plain", b"ready\n".to_vec())
        }
        "/health" => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            b"not ready\n".to_vec(),
        ),
        _ => answer(
            StatusCode::NOT_FOUND,
            "text/plain",
            b"try /metrics, /health or /health/live\n".to_vec(),
        ),
    }
}

fn answer(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}
