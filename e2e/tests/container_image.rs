//! The container image runs the pipeline: `make image` builds it (FROM scratch, static
//! binaries; here built unoptimised, as the `image-test` profile does, packed alike), and a
//! producer and a consumer started from it with `podman run --network=host` against the stack
//! write every row to the consumer's file, on the mounted /data volume, as the user 65532 the
//! image runs as. Both stop cleanly on `podman stop` (SIGTERM to the binary,
//! which is PID 1), and each serves `/health` on the address it logs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sluice_e2e::process::LoggedProcess;
use sluice_e2e::repo_root;
use sluice_e2e::scenario::{tail, Scenario};

const IMAGE: &str = "localhost/sluice:latest";
/// The cargo profile the image's binaries are built with here (Cargo.toml).
const IMAGE_PROFILE: &str = "image-test";
const ROWS: i32 = 3_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_image_runs_a_producer_and_a_consumer_that_write_every_row() {
    // The packaging is what is tested here: the binaries unoptimised build in half the time.
    let build = Command::new(repo_root().join("stack/build-image"))
        .env("SLUICE_IMAGE_PROFILE", IMAGE_PROFILE)
        .status()
        .expect("run stack/build-image");
    assert!(build.success(), "make image failed: {build}");
    assert_no_fault_hook_ships();
    // The image's sluice-migrate reaches the stack and finds its schema current (`make up`
    // applied the same migrations).
    let migrate = podman_run()
        .args([IMAGE, "sluice-migrate"])
        .output()
        .expect("podman run sluice-migrate");
    assert!(
        migrate.status.success(),
        "sluice-migrate in the image: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&migrate.stdout),
        "",
        "nothing to apply"
    );

    let scenario = Scenario::new("image", 6).await;
    scenario.insert_products(1..ROWS + 1, None).await;
    let data = scenario.dir.path().join("container");
    let producer_data = data.join("producer");
    std::fs::create_dir_all(&producer_data).expect("producer volume");
    let out = scenario.names.out_dir();
    std::fs::create_dir_all(&out).expect("consumer volume");
    for folder in [&producer_data, &out] {
        chown_to_image_user(folder);
    }

    let tag = scenario.names.topic.clone();
    let producer_name = format!("{tag}-producer");
    let consumer_name = format!("{tag}-consumer");
    let mut consumer = run(
        &scenario,
        &consumer_name,
        &out,
        "/data/out",
        &["sluice-consumer", "--member", "1"],
        "consumer-1.log",
    );
    let mut producer = run(
        &scenario,
        &producer_name,
        &producer_data,
        "/data",
        &["sluice-producer"],
        "producer.log",
    );
    scenario.wait_caught_up(Duration::from_secs(180)).await;

    for log in ["producer.log", "consumer-1.log"] {
        let url = scenario
            .metrics_url(log)
            .unwrap_or_else(|| panic!("{log} names no metrics address:\n{}", scenario.log(log)));
        // The image serves on every interface; the host reaches it on loopback.
        let url = url.replace("0.0.0.0", "127.0.0.1");
        let health = sluice_registry::http::get(format!("{url}/health"))
            .await
            .unwrap_or_else(|e| panic!("{url}/health: {e}"));
        assert!(
            health.status().is_success(),
            "{log}: /health {}",
            health.status()
        );
    }

    for (name, child, log) in [
        (&producer_name, &mut producer, "producer.log"),
        (&consumer_name, &mut consumer, "consumer-1.log"),
    ] {
        let stop = Command::new("podman")
            .args(["stop", "--time", "60", name])
            .stdout(Stdio::null())
            .status()
            .expect("podman stop");
        assert!(stop.success(), "podman stop {name}: {stop}");
        let code = child.process.exit_code_within(Duration::from_secs(90));
        assert_eq!(
            code,
            Some(0),
            "{name} stopped cleanly:\n{}",
            tail(&scenario.log(log), 20)
        );
    }
    let lines = scenario.lines();
    assert!(
        lines.len() >= ROWS as usize,
        "{} lines from the image's consumer",
        lines.len()
    );
    scenario.assert_exactly_once(ROWS as u64);
}

/// A container started by the test: removed when the test ends, whatever happened.
struct Container {
    name: String,
    process: LoggedProcess,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "--force", "--time", "5", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Dropping the process kills `podman run` if it still runs.
    }
}

/// `podman run` of the image with the scenario's settings, `host_folder` mounted where the
/// process writes (`container_folder`), its output appended to `log`; the caller stops it.
fn run(
    scenario: &Scenario,
    name: &str,
    host_folder: &Path,
    container_folder: &str,
    command: &[&str],
    log: &str,
) -> Container {
    let mut podman = podman_run();
    podman.args(["--name", name, "--volume"]);
    podman
        .arg(format!("{}:{container_folder}", host_folder.display()))
        .arg(IMAGE)
        .args(command);
    for set in scenario.overrides() {
        podman.arg("--set").arg(set);
    }
    // Inside the container, what is written goes to the mounted volume.
    podman.args([
        "--set",
        "producer.watermark_file=/data/watermark.json",
        "--set",
        "consumer.output_dir=/data/out",
    ]);
    let process = LoggedProcess::spawn(name, podman, &scenario.dir.path().join(log))
        .unwrap_or_else(|e| panic!("podman run: {e}"));
    let container = Container {
        name: name.to_owned(),
        process,
    };
    wait_until_running(name);
    container
}

/// `podman run --rm` on the host's network, with the runtime and limits this machine needs.
fn podman_run() -> Command {
    let mut podman = Command::new("podman");
    podman.args([
        "run",
        "--rm",
        "--network=host",
        "--runtime",
        "runc",
        "--ulimit",
        "nofile=20000:20000",
        "--ulimit",
        "nproc=32768:32768",
    ]);
    podman
}

/// Waits until podman lists the container as running (its start takes a moment).
fn wait_until_running(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = Command::new("podman")
            .args(["inspect", "--format", "{{.State.Status}}", name])
            .output()
            .expect("podman inspect");
        if String::from_utf8_lossy(&state.stdout).trim() == "running" {
            return;
        }
        assert!(Instant::now() < deadline, "{name} never ran");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The image runs as 65532:65532, which must be able to write the mounted folder.
fn chown_to_image_user(folder: &Path) {
    let status = Command::new("chown")
        .arg("65532:65532")
        .arg(folder)
        .status()
        .expect("chown");
    assert!(status.success(), "chown {}: {status}", folder.display());
}

/// The image's binaries (built as release is: no debug assertions) hold no fault hook: not even
/// the names of the variables that arm one. The debug build the tests run does hold them, so
/// the check can fail.
fn assert_no_fault_hook_ships() {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let holds = |path: &Path, name: &str| {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        bytes
            .windows(name.len())
            .any(|window| window == name.as_bytes())
    };
    for binary in ["sluice-producer", "sluice-consumer"] {
        let shipped = target
            .join("x86_64-unknown-linux-gnu")
            .join(IMAGE_PROFILE)
            .join(binary);
        for hook in sluice_common::fault::HOOKS {
            assert!(
                !holds(&shipped, hook),
                "{} holds the fault hook {hook}",
                shipped.display()
            );
        }
    }
    let debug = target.join("debug/sluice-producer");
    assert!(
        holds(&debug, "SLUICE_FAIL_COMMIT_AT"),
        "the debug build the tests run has its hooks: {}",
        debug.display()
    );
}
