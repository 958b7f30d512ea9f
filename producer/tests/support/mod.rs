//! What the live page-reading tests share: a page reader over a scratch table, reading on from
//! one page to the next, and dropping the table.

use prometheus::{Histogram, HistogramOpts};
use sluice_producer::poll::page_reader::{Page, PageReader};
use sluice_producer::source::keyset::KeysetQuery;
use sluice_producer::source::read_bound::ReadBound;
use sluice_producer::watermark::Watermark;
use sqlx::MySqlPool;

/// A reader of `table` (`id`, `name`, `last_updated`, keyset index on `last_updated`) in pages
/// of `page` rows, and where its rows hold their key and timestamp.
pub fn reader(
    pool: &MySqlPool,
    table: &str,
    read_bound: ReadBound,
    page: u32,
) -> (PageReader, KeysetQuery) {
    let columns = ["id", "name", "last_updated"].map(String::from);
    let query = KeysetQuery::new(table, "id", "last_updated", &columns, Some("last_updated"));
    let timer = Histogram::with_opts(HistogramOpts::new("reads", "reads")).expect("histogram");
    let reader = PageReader::new(pool.clone(), query.clone(), read_bound, page, timer);
    (reader, query)
}

/// Moves `cursor` past `page`; `true` when the reading has caught up.
pub fn read_on(page: &Page, query: &KeysetQuery, cursor: &mut Watermark) -> bool {
    if let Some(end) = page.end(query).expect("the page's end") {
        *cursor = end;
    }
    page.caught_up()
}

/// Drops the scratch table.
pub async fn drop_table(pool: &MySqlPool, table: &str) {
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(pool)
        .await
        .expect("drop the scratch table");
}
