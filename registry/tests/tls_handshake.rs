//! HTTPS works with the crypto provider sluice installs: a client trusting a private CA (as
//! `registry.ca_file` configures) completes a TLS handshake with a real TLS server, and a client
//! that does not trust it refuses the same server. The server is `openssl s_server`.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// No step of the test waits longer.
const PATIENCE: Duration = Duration::from_secs(20);

/// Kills the TLS server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(args: &[&str], dir: &Path) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?} failed: {status}");
}

/// A private CA (`ca.pem`) and a server certificate for 127.0.0.1 it signed (`server.pem`,
/// `server-key.pem`), as a shop's own PKI would issue them.
fn private_ca_and_server_certificate(dir: &Path) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=sluice test CA",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
        ],
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server-key.pem",
            "-out",
            "server.csr",
        ],
        dir,
    );
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .expect("extensions file");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
        dir,
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn start_server(dir: &Path, port: u16) -> Server {
    let child = Command::new("openssl")
        .args(["s_server", "-www", "-quiet", "-accept"])
        .arg(port.to_string())
        .arg("-cert")
        .arg(dir.join("server.pem"))
        .arg("-key")
        .arg(dir.join("server-key.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let server = Server(child);
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

#[tokio::test]
async fn a_client_trusting_the_ca_completes_the_handshake_and_others_refuse() {
    let dir = tempfile::tempdir().expect("temp dir");
    private_ca_and_server_certificate(dir.path());
    let port = free_port();
    let _server = start_server(dir.path(), port);
    let url = format!("https://127.0.0.1:{port}/");

    // s_server answers one connection at a time: the refusal first, then the handshake.
    let stranger = sluice_registry::http::client_builder()
        .timeout(PATIENCE)
        .build()
        .expect("client");
    let refused = stranger
        .get(&url)
        .send()
        .await
        .expect_err("a client without the CA accepted a certificate of an unknown CA");
    let reason = format!("{refused:?}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");

    let pem = std::fs::read(dir.path().join("ca.pem")).expect("certificate");
    let ca = reqwest::Certificate::from_pem(&pem).expect("PEM certificate");
    let trusting = sluice_registry::http::client_builder()
        .timeout(PATIENCE)
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let answer = trusting.get(&url).send().await.expect("TLS handshake");
    assert!(answer.status().is_success(), "{}", answer.status());
}
