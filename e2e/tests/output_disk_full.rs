//! The output folder fills up: the member stops reading, leaves no line cut short, says so in
//! its log and metrics, and once space returns writes on by itself, without a restart; the files
//! then hold every row once (judged by `sluice-verify`). Both at least once and exactly once,
//! where a committed batch's append fails on its own thread.
//!
//! The folder is a 4 MiB tmpfs mounted by the test (the tests run as root here), grown to 64 MiB
//! by a remount once the member is seen waiting.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::until;

/// About 6.6 MB of lines: more than the small disk holds.
const PRODUCTS: i32 = 60_000;
/// The member hands lines to the file in writes of up to about 1 MiB: several fit first.
const SMALL_DISK: &str = "4m";
const PATIENCE: Duration = Duration::from_secs(120);

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).expect("mount point");
        mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], at);
        Self(at.to_path_buf())
    }

    fn grow(&self, size: &str) {
        mount(&["-o", &format!("remount,size={size}")], &self.0);
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount(args: &[&str], at: &Path) {
    let output = Command::new("mount")
        .args(args)
        .arg(at)
        .output()
        .expect("run mount");
    assert!(
        output.status.success(),
        "mount {args:?} {} failed (this test needs root to mount a small tmpfs): {}",
        at.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn at_least_once_a_full_output_disk_blocks_the_member_until_space_returns_and_loses_nothing()
{
    fill_the_disk_then_free_it("diskfull", false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exactly_once_a_full_output_disk_blocks_the_member_until_space_returns() {
    fill_the_disk_then_free_it("eos_diskfull", true).await;
}

async fn fill_the_disk_then_free_it(tag: &str, exactly_once: bool) {
    let mut scenario = Scenario::new(tag, 6).await;
    let disk = SmallDisk::mount(&scenario.dir.path().join("small-disk"), SMALL_DISK);
    scenario.with_setting(&format!("consumer.output_dir={}", disk.0.display()));
    scenario.with_setting(&format!("producer.exactly_once={exactly_once}"));
    scenario.with_setting(&format!("consumer.exactly_once={exactly_once}"));
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(1);
    scenario.start_producer();

    scenario
        .wait_for_log("consumer-1.log", "cannot write", 1, PATIENCE)
        .await;
    // Blocked for a while (the scenario: a disk that stays full), the file holds whole lines
    // only, and the member is still up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let file = disk.0.join("consumer-1.jsonl");
    // At least once, lines reach the file in writes of about 1 MiB until it is full; exactly
    // once, in whole committed batches (up to 8 MiB), of which none may fit. Each try of the
    // member (one a second) writes what fits and cuts it off at once: a read that falls inside
    // that millisecond sees part of a line, so a cut line must be gone when read again.
    let filled = |text: &[u8]| {
        if exactly_once {
            text.is_empty() || text.ends_with(b"\n")
        } else {
            text.len() > 2_000_000 && text.ends_with(b"\n")
        }
    };
    let mut text = std::fs::read(&file).expect("the member's file");
    if !filled(&text) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = std::fs::read(&file).expect("the member's file");
    }
    assert!(
        filled(&text),
        "{} bytes, ending {:?}",
        text.len(),
        String::from_utf8_lossy(&text[text.len().saturating_sub(40)..])
    );
    let url = scenario
        .metrics_url("consumer-1.log")
        .expect("the member's metrics address");
    let metrics = sluice_registry::http::get(format!("{url}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sluice_consumer_output_blocked{") && l.ends_with(" 1")),
        "the blocked gauge says so:\n{metrics}"
    );

    disk.grow("64m");
    let report = until(
        "the files clean after space returned",
        PATIENCE,
        || {
            let (code, report) = scenario.verify();
            (code == 0).then_some(report)
        },
        || {
            format!(
                "{:#}\n{}",
                scenario.verify().1,
                scenario.log("consumer-1.log")
            )
        },
    )
    .await;
    assert_eq!(report["rows"], PRODUCTS, "{report:#}");
    assert_eq!(report["lines"], PRODUCTS, "each row once: {report:#}");
    assert!(
        scenario.log("consumer-1.log").contains("is written again"),
        "{}",
        scenario.log("consumer-1.log")
    );
    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "no restart was needed and every process stops cleanly: {codes:?}"
    );
    drop(disk);
}
