//! Against the local stack's MariaDB (`make up`): reading changes in timestamp order returns
//! every row exactly once, in `(timestamp, key)` order, when whole-second timestamps are shared
//! by groups smaller than, equal to and larger than a page, and keys have gaps and do not follow
//! time; and when a group is a run of keys (read as a range of the primary key), also one with
//! keys of other timestamps among them; and when the page size changes from page to page, as
//! it does when the producer fits pages to the weight of their rows.

use std::time::Duration;

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_producer::poll::page_reader::PAGE_BYTES;
use sluice_producer::source::key::Key;
use sluice_producer::source::read_bound::{ReadBound, TransactionView};
use sluice_producer::source::row;
use sluice_producer::watermark::{KeyBound, Watermark};

mod support;

const PAGE: u32 = 100;
/// Rows per second of `last_updated`, one group per second: around and across page sizes.
const GROUPS: [u32; 9] = [1, 99, 100, 101, 250, 1, 3, 200, 2];
/// Keys are `(n * KEY_STEP) % KEY_MODULUS + 1`: distinct, with gaps, out of time order.
const KEY_STEP: u32 = 37;
const KEY_MODULUS: u32 = 1009;

#[tokio::test(flavor = "multi_thread")]
async fn pages_of_changes_read_each_row_once_across_groups_sharing_a_second() {
    let (read, expected, pages) = read_every_page("fixed", &[]).await;
    assert_eq!(read, expected, "each row once, in (timestamp, key) order");
    let total: u32 = GROUPS.iter().sum::<u32>() + 300 + 400;
    assert_eq!(
        pages,
        total.div_ceil(PAGE) as usize + usize::from(total.is_multiple_of(PAGE)),
        "full pages while rows remain, then one short page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_whose_size_changes_each_time_read_each_row_once() {
    // Rows of these weights make pages of 16 (the least), 100 (the batch size), 33 and 64 rows.
    let heavy = PAGE_BYTES;
    let weights = [heavy, 1, PAGE_BYTES / 33, PAGE_BYTES / 64];
    let (read, expected, pages) = read_every_page("fitted", &weights).await;
    assert_eq!(read, expected, "each row once, in (timestamp, key) order");
    let total = (GROUPS.iter().sum::<u32>() + 300 + 400) as usize;
    assert!(
        pages > total.div_ceil(PAGE as usize) + 5,
        "pages of fewer rows than the batch size: {pages}"
    );
}

/// Fills a scratch table, reads it page by page from the beginning, fitting the pages in turn to
/// `weights` (none: the batch size throughout), and drops it: the rows read, the rows expected,
/// and the pages it took.
async fn read_every_page(
    name: &str,
    weights: &[usize],
) -> (Vec<(String, i64)>, Vec<(String, i64)>, usize) {
    let pool = mysql::connect(&Settings::default().mysql, 2)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    let table = format!("it_ties_{name}_{}", std::process::id());
    sqlx::query(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, \
         last_updated TIMESTAMP(0) NOT NULL, INDEX (last_updated, id))"
    ))
    .execute(&pool)
    .await
    .expect("create scratch table");
    let mut expected = Vec::new();
    let mut values = Vec::new();
    let mut n = 0;
    for (second, size) in GROUPS.iter().enumerate() {
        for _ in 0..*size {
            let id = i64::from((n * KEY_STEP) % KEY_MODULUS + 1);
            let at = format!("2026-01-01 00:00:{second:02}");
            values.push(format!("({id}, 'p{id}', '{at}')"));
            expected.push((at, id));
            n += 1;
        }
    }
    // A run of 300 keys sharing one second; then 400 keys of which every tenth has the second
    // after: the range read of the first group's keys passes over those.
    let run_second = GROUPS.len();
    for id in 2001..=2300 {
        let at = format!("2026-01-01 00:00:{run_second:02}");
        values.push(format!("({id}, 'p{id}', '{at}')"));
        expected.push((at, id));
    }
    for id in 3001..=3400 {
        let second = run_second + 1 + usize::from(id % 10 == 0);
        let at = format!("2026-01-01 00:00:{second:02}");
        values.push(format!("({id}, 'p{id}', '{at}')"));
        expected.push((at, id));
    }
    expected.sort();
    sqlx::query(&format!(
        "INSERT INTO {table} (id, name, last_updated) VALUES {}",
        values.join(", ")
    ))
    .execute(&pool)
    .await
    .expect("fill");

    let read_bound = ReadBound::with_view(TransactionView::Precise, Duration::ZERO);
    let (mut reader, query) = support::reader(&pool, &table, read_bound, PAGE);
    let mut cursor = Watermark::beginning();
    let mut read = Vec::new();
    let mut pages = 0;
    loop {
        if let Some(weight) = weights.get(pages % weights.len().max(1)) {
            reader.fit_pages_to(*weight);
        }
        pages += 1;
        assert!(pages <= expected.len(), "the reading never caught up");
        let page = reader.fetch(&cursor).await.expect("page");
        for record in &page.rows {
            let at = row::position(record, &query).expect("position");
            let KeyBound::At(Key::Signed(id)) = at.key else {
                panic!("a row's position is at its INT key");
            };
            read.push((at.last_updated.format("%Y-%m-%d %H:%M:%S").to_string(), id));
        }
        if support::read_on(&page, &query, &mut cursor) {
            break;
        }
    }
    support::drop_table(&pool, &table).await;

    (read, expected, pages)
}
