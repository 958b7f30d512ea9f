//! The README's quick start, as a new user runs it: `make up` (the stack is up already, so it
//! changes nothing), `make run` in the foreground, `make status` beside it, then Ctrl-C. Each
//! command's output has the shape the README shows, every row of the sample table reaches the
//! files (judged by `sluice-verify`), and Ctrl-C stops every process cleanly.
//!
//! Differences from a user's run, none in what is run: the pipeline's topics, group and output
//! folder are the test's own (through `SLUICE__…` variables, so a developer's own pipeline in
//! this clone is left alone); `make run` and `sluice-verify` are the debug builds that
//! `make test` has made (`SLUICE_RUN_PROFILE=debug`) rather than release ones, which would take
//! minutes to build; and `make simulate` (a release build of the load generator) is left out.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_e2e::process::tail;
use sluice_e2e::repo_root;
use sluice_e2e::scenario::output_lines;
use sluice_e2e::wait::{until, until_async, CATCH_UP, STOPS_WITHIN};

/// The settings every process of the test's `make run`, `make status` and `sluice-verify` gets.
fn isolated(topic: &str, out: &Path) -> Vec<(String, String)> {
    [
        ("SLUICE__KAFKA__TOPIC", topic.to_owned()),
        ("SLUICE__KAFKA__DLQ_TOPIC", format!("{topic}.dlq")),
        ("SLUICE__CONSUMER__GROUP_ID", format!("{topic}-writers")),
        ("SLUICE__CONSUMER__OUTPUT_DIR", out.display().to_string()),
        (
            "SLUICE__PRODUCER__WATERMARK_FILE",
            out.join("watermark.json").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

fn make(target: &str, env: &[(String, String)]) -> Command {
    let mut command = Command::new("make");
    command
        .arg("--no-print-directory")
        .arg(target)
        .current_dir(repo_root())
        .envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// `make run`'s process group, stopped (SIGINT, then SIGKILL) when the test ends early, so a
/// failed test leaves no pipeline running on the stack's default ports.
struct RunGroup(std::process::Child);

impl RunGroup {
    fn signal(&self, signal: &str) -> bool {
        Command::new("kill")
            .args([signal, "--", &format!("-{}", self.0.id())])
            .status()
            .is_ok_and(|status| status.success())
    }
}

impl Drop for RunGroup {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.signal("-INT");
            std::thread::sleep(Duration::from_secs(10));
            self.signal("-KILL");
            let _ = self.0.wait();
        }
    }
}

/// Whether `line` is a process's INFO line of `make run` carrying `message`: `[name] <time>
/// INFO <message>…` as the human log format writes it.
fn info_line(line: &str, process: &str, message: &str) -> bool {
    line.strip_prefix(&format!("[{process}] "))
        .and_then(|rest| rest.split_once("  INFO "))
        .is_some_and(|(time, text)| time.ends_with('Z') && text.starts_with(message))
}

/// Whole output lines in `folder`, as the scenarios count them.
fn lines_in(folder: &Path) -> usize {
    output_lines(folder).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quick_start_runs_as_the_readme_shows() {
    let dir = tempfile::tempdir().expect("a folder");
    let out = dir.path().join("jsonl");
    let topic = format!("quickstart_{}", std::process::id());
    let env = isolated(&topic, &out);

    // `make up`: the stack is up, so each service is found running.
    let up = make("up", &env).output().expect("make up");
    let up_text = String::from_utf8_lossy(&up.stdout).into_owned();
    assert!(
        up.status.success(),
        "make up: {up_text}{}",
        String::from_utf8_lossy(&up.stderr)
    );
    for service in ["mariadb", "kafka", "registry", "prometheus"] {
        assert!(
            up_text.lines().any(|line| line.starts_with(service)),
            "make up names {service}:\n{up_text}"
        );
    }

    // `make run`, in a process group of its own, as a terminal runs it.
    let log = dir.path().join("make-run.log");
    let log_file = std::fs::File::create(&log).expect("log");
    let mut run = make("run", &env);
    run.env("SLUICE_RUN_PROFILE", "debug")
        .stdout(Stdio::from(log_file.try_clone().expect("log")))
        .stderr(Stdio::from(log_file));
    std::os::unix::process::CommandExt::process_group(&mut run, 0);
    let mut run = RunGroup(run.spawn().expect("make run"));
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();

    let settings = Settings::default();
    let pool = mysql::connect(&settings.mysql, 1)
        .await
        .expect("the stack's MariaDB");
    // The sample catalogue is loaded when the table is empty; then every row reaches the files.
    let rows: i64 = until_async(
        "the sample catalogue in the table",
        CATCH_UP,
        || async {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM product")
                .fetch_one(&pool)
                .await
                .ok()?;
            (count > 0 && read_log().contains("producer and 5 consumers started")).then_some(count)
        },
        || tail(&read_log(), 30),
    )
    .await;
    until(
        "every row of the table in the files",
        CATCH_UP,
        || (lines_in(&out) >= rows as usize).then_some(()),
        || {
            format!(
                "{} lines of {rows}\n{}",
                lines_in(&out),
                tail(&read_log(), 30)
            )
        },
    )
    .await;
    // The progress lines have the README's shape.
    until(
        "a progress line of the producer and of each member",
        Duration::from_secs(30),
        || {
            let text = read_log();
            let producer = text.lines().any(|line| {
                info_line(line, "producer  ", "rows read ")
                    && line.contains("records produced")
                    && line.contains(", watermark ")
                    && line.contains(", lag ")
            });
            let members = (1..=5).all(|n| {
                text.lines().any(|line| {
                    info_line(
                        line,
                        &format!("consumer-{n}"),
                        &format!("consumer-{n}: lines written "),
                    ) && line.contains(", lag ")
                        && line.contains(", partitions [")
                        && line.contains(&format!("consumer-{n}.jsonl"))
                })
            });
            (producer && members).then_some(())
        },
        || tail(&read_log(), 40),
    )
    .await;

    // `make status` beside it: the stack, then the pipeline.
    let status = make("status", &env).output().expect("make status");
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "make status: {status_text}");
    assert!(
        status_text.contains(&format!("group {topic}-writers: 5 members in Kafka")),
        "make status names the group and its members:\n{status_text}"
    );
    let producer_line = status_text
        .lines()
        .find(|line| line.trim_start().starts_with("producer "))
        .unwrap_or_else(|| panic!("make status shows the producer:\n{status_text}"));
    assert!(
        producer_line.contains("http://127.0.0.1:9641")
            && producer_line.contains(" up ")
            && producer_line.contains("watermark ")
            && producer_line.contains(&format!("records produced {rows}")),
        "{producer_line}"
    );
    for n in 1..=5 {
        let member = status_text
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("consumer-{n} ")))
            .unwrap_or_else(|| panic!("make status shows consumer-{n}:\n{status_text}"));
        assert!(
            member.contains(&format!("http://127.0.0.1:965{n}"))
                && member.contains(" up ")
                && member.contains("partitions [")
                && member.contains("lines written "),
            "{member}"
        );
    }

    // The files judged against the table.
    let verify = Command::new(repo_root().join("target/debug/sluice-verify"))
        .current_dir(repo_root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("sluice-verify");
    let verdict = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(
        verify.status.success() && verdict.contains("verdict: clean"),
        "sluice-verify: {verdict}{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
    assert!(run.signal("-INT"), "kill -INT the group of make run");
    let exited = until(
        "make run to stop after Ctrl-C",
        STOPS_WITHIN + Duration::from_secs(20),
        || run.0.try_wait().ok().flatten(),
        || tail(&read_log(), 30),
    )
    .await;
    let text = read_log();
    // make itself ends as interrupted (it re-raises SIGINT); run-pipeline reports how its
    // processes ended.
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&exited),
        Some(2),
        "make run ends as interrupted by Ctrl-C: {exited}\n{}",
        tail(&text, 30)
    );
    assert!(
        text.contains("[run]        every process stopped cleanly")
            && text.lines().any(|line| info_line(
                line,
                "producer  ",
                "producer stopped; watermark committed"
            )),
        "every process stopped cleanly:\n{}",
        tail(&text, 30)
    );
    for n in 1..=5 {
        assert!(
            text.contains(&format!("consumer-{n}: stopped; offsets committed")),
            "consumer-{n} stopped cleanly:\n{}",
            tail(&text, 30)
        );
    }
}
