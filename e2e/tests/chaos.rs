//! `make chaos`: a seeded random mix of the faults exactly-once delivery must survive, against
//! the real stack, while updates flow: `kill -9` of the producer or of a member, a member
//! paused past its session timeout, and a restart of the broker, MariaDB or the registry; and
//! products deleted outright and inserted again meanwhile, which the producer's sweep must
//! find. Then `sluice-verify` judges the files against the table: every row's latest version
//! there, a delete line last for every product deleted, no line twice, none torn. The seed is printed first; `make chaos SEED=<seed>` replays the same
//! faults in the same order (a real machine's timing still varies).
//!
//! The same with `producer.source = "binlog"`, binary logs rotated among the faults: every
//! version of every product, not only the latest, once and in commit order, judged against
//! the load generator's journal (`sluice-verify --journal`).
//!
//! `SLUICE_CHAOS_SECONDS` sets how long faults keep coming (`make chaos`: 180; 30 unless set).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_e2e::churn::Churn;
use sluice_e2e::journaled_load::{self, JournaledLoad};
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::stack_ok;
use sluice_e2e::wait::CATCH_UP;

const PRODUCTS: i32 = 20_000;
/// From the binlog, the products the journaled load updates; the churn deletes the others.
const JOURNALED: i32 = 15_000;
const MEMBERS: usize = 3;
/// The stack's session timeout (15 s) and some: a member paused this long loses its partitions.
const PAST_SESSION_TIMEOUT: Duration = Duration::from_secs(20);
/// Seconds between the producer's sweeps for deleted rows: several sweeps meet the faults.
const SWEEP_SECS: u64 = 5;

/// One fault.
#[derive(Debug, Clone, Copy)]
enum Fault {
    KillProducer,
    KillMember(usize),
    PauseMember(usize),
    Restart(&'static str),
    /// The binary log moves on to a new file (binlog source only).
    RotateBinaryLog,
}

impl Fault {
    fn pick(rng: &mut StdRng, source: Source) -> Self {
        let kinds = match source {
            Source::Timestamp => 10,
            Source::Binlog => 11,
        };
        match rng.random_range(0..kinds) {
            0..=2 => Fault::KillProducer,
            3..=5 => Fault::KillMember(rng.random_range(1..=MEMBERS)),
            6 => Fault::PauseMember(rng.random_range(1..=MEMBERS)),
            7 => Fault::Restart("kafka"),
            8 => Fault::Restart("mariadb"),
            9 => Fault::Restart("registry"),
            _ => Fault::RotateBinaryLog,
        }
    }

    async fn apply(self, scenario: &mut Scenario, rng: &mut StdRng) {
        let pause = |range: std::ops::Range<u64>, rng: &mut StdRng| {
            Duration::from_millis(rng.random_range(range))
        };
        match self {
            Fault::KillProducer => {
                scenario.kill_producer();
                tokio::time::sleep(pause(200..2_000, rng)).await;
                scenario.start_producer();
            }
            Fault::KillMember(member) => {
                scenario.kill_consumer(member);
                tokio::time::sleep(pause(100..1_500, rng)).await;
                scenario.restart_consumer(member, &[]);
            }
            Fault::PauseMember(member) => {
                scenario.signal_consumer(member, "STOP");
                tokio::time::sleep(PAST_SESSION_TIMEOUT).await;
                scenario.signal_consumer(member, "CONT");
            }
            Fault::Restart(service) => {
                stack_ok(&["stop", service]);
                tokio::time::sleep(pause(1_000..5_000, rng)).await;
                stack_ok(&["start", service]);
            }
            Fault::RotateBinaryLog => sluice_e2e::mysql_admin("FLUSH BINARY LOGS;"),
        }
    }
}

fn chaos_length() -> Duration {
    let seconds = std::env::var("SLUICE_CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(seconds)
}

/// Which source the producer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Timestamp,
    Binlog,
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "minutes of server restarts: run by `make chaos`"]
async fn a_seeded_mix_of_faults_loses_and_repeats_nothing() {
    chaos(Source::Timestamp).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "minutes of server restarts: run by `make chaos`"]
async fn a_seeded_mix_of_faults_publishes_every_binlog_version_once() {
    chaos(Source::Binlog).await;
}

/// The writes under the faults: polled, random price updates (every version need not reach
/// the files, only the latest); from the binlog, the load generator's journaled updates, at
/// 2 000 a second, of products the churn leaves alone (a journaled update of a product deleted
/// meanwhile would change no row).
enum Writes {
    Polled(Load),
    Journaled(JournaledLoad),
}

impl Writes {
    async fn stop(self) -> u64 {
        match self {
            Writes::Polled(load) => load.stop().await,
            Writes::Journaled(load) => load.stop().await,
        }
    }
}

async fn chaos(source: Source) {
    let seed = test_seed();
    let length = chaos_length();
    println!("chaos for {length:?} from seed {seed} (make chaos SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let tag = match source {
        Source::Timestamp => "chaos",
        Source::Binlog => "chaos_binlog",
    };
    let mut scenario = Scenario::new(tag, 6).await;
    scenario.with_setting("producer.exactly_once=true");
    scenario.with_setting("consumer.exactly_once=true");
    scenario.with_setting(&format!("producer.delete_sweep_interval_secs={SWEEP_SECS}"));
    if source == Source::Binlog {
        scenario.with_setting("producer.source=binlog");
        scenario.with_setting("mysql.user=sluice_binlog");
        scenario.with_setting("mysql.password=sluice_binlog");
    }
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(MEMBERS as u32);
    scenario.start_producer();
    let (pool, table) = (&scenario.pool, scenario.names.table.clone());
    let (writes, churn) = match source {
        Source::Timestamp => (
            Writes::Polled(Load::start(pool, &table, PRODUCTS, seed)),
            Churn::start(pool, &table, PRODUCTS, seed),
        ),
        Source::Binlog => {
            let journal = scenario.dir.path().join("journal.txt");
            let load = journaled_load::two_thousand_a_second(i64::from(JOURNALED));
            let writes = Writes::Journaled(JournaledLoad::start(pool, &table, load, &journal));
            let churn = Churn::start_in(pool, &table, JOURNALED + 1..=PRODUCTS, seed);
            scenario.verify_every_version_by(&journal);
            (writes, churn)
        }
    };

    let started = Instant::now();
    let mut faults = Vec::new();
    while started.elapsed() < length {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1_000..4_000))).await;
        let fault = Fault::pick(&mut rng, source);
        println!("{:>6.1}s {fault:?}", started.elapsed().as_secs_f64());
        fault.apply(&mut scenario, &mut rng).await;
        faults.push(fault);
    }
    let updates = writes.stop().await;
    let churned = churn.stop().await;
    // Whatever the last fault left stopped is up again before the pipeline is judged.
    stack_ok(&["up"]);
    scenario.wait_caught_up(CATCH_UP).await;
    // The last deletes reach the files after the sweep that finds them.
    scenario
        .wait_until_verified(Duration::from_secs(SWEEP_SECS) + CATCH_UP)
        .await;
    let codes = scenario.stop_all();
    // The logs of the processes that did not stop cleanly: a failure names its cause.
    let logs: Vec<String> = std::iter::once("producer.log".to_owned())
        .chain((1..=MEMBERS).map(|n| format!("consumer-{n}.log")))
        .zip(&codes)
        .filter(|(_, code)| **code != Some(0))
        .map(|(log, _)| format!("{log}:\n{}", tail(&scenario.log(&log), 30)))
        .collect();
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "every process ran to the end and stopped cleanly: {codes:?} (seed {seed}, faults \
         {faults:?})\n{}",
        logs.join("\n")
    );
    assert!(!faults.is_empty(), "at least one fault");
    assert!(updates >= 5_000, "the load ran: {updates} updates");
    assert!(
        churned.deleted >= 20,
        "products were deleted meanwhile: {churned:?}"
    );
    scenario.assert_exactly_once(PRODUCTS as u64 + 5_000);
    if source == Source::Binlog {
        let (_, report) = scenario.verify();
        let seen = report["journal"]["seen"].as_u64().unwrap_or_default();
        println!(
            "journal: {} updates committed, {seen} in lines, {} lines of updates whose commit \
             the load generator did not see answered",
            report["journal"]["committed"], report["journal"]["unjournaled"]
        );
        assert!(
            seen >= 5_000,
            "every version judged against the journal, enough of them: {report:#}"
        );
    }
    println!(
        "seed {seed}: {} faults, {updates} updates, {churned:?}, every row version once and \
         every delete",
        faults.len()
    );
}
