//! Every page query of the producer reads the rows it returns and no others, whatever the data.
//!
//! The access type alone proves little: the old page query was a `range` too, yet a page deep in
//! a group of rows sharing one timestamp read every row of the group before it. So these tests
//! run each query under `ANALYZE FORMAT=JSON` on data shaped to hurt it (200 000 rows sharing one
//! timestamp, whole-second `TIMESTAMP(0)`, gaps in the keys) and assert the rows it examined.
//! The delete sweep's page of keys is held to the same.

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_e2e::product_table::create_like_product;
use sluice_e2e::query_plan::{Examined, Param, Plan};
use sluice_producer::source::catalogue::{keyset_index, primary_key};
use sluice_producer::source::deleted::DeletedColumn;
use sluice_producer::source::keyset::KeysetQuery;
use sluice_producer::sweep::SWEEP_PAGE_KEYS;
use sqlx::MySqlPool;
use Param::{At, Key};

/// Rows per page in these tests: the producer's default.
const PAGE: u32 = 5000;
/// Rows sharing the one timestamp of the tie group.
const TIE_GROUP: i64 = 200_000;
/// Rows before and after the tie group, one timestamp each.
const SPREAD: i64 = 20_000;
/// Rows examined beyond the page, at most: the one row a range reads to see it has ended.
const SLACK: f64 = 1.0;

#[tokio::test]
async fn the_page_queries_read_ranges_of_their_indexes_in_order() {
    let pool = connect().await;
    let table = Scratch::create(&pool, "spread", "TIMESTAMP(6)").await;
    // Enough rows, spread over time, that the optimiser has a real choice to make.
    table
        .fill(
            "SELECT seq, CONCAT('p', seq), 'c', 1, TIMESTAMP('2026-01-01') + INTERVAL seq SECOND \
             FROM seq_1_to_50000",
        )
        .await;
    let query = table.query().await;

    let tie_page = Plan::explain(
        &pool,
        query.tie_sql(),
        &[
            At("2026-01-01 06:00:00"),
            Key(21_600),
            At("2026-01-02"),
            Key(5000),
        ],
    )
    .await;
    let after_page = Plan::explain(
        &pool,
        query.sql(),
        &[At("2026-01-01 06:00:00"), At("2026-01-02"), Key(5000)],
    )
    .await;
    let key_page = Plan::explain(&pool, query.key_sql(), &[Key(20_000), Key(5000)]).await;
    let sweep_page = Plan::explain(
        &pool,
        query.sweep_keys_sql(),
        &[Key(20_000), Key(SWEEP_PAGE_KEYS.into())],
    )
    .await;
    table.drop().await;

    for (name, plan, index) in [
        (
            "rest of the timestamp",
            &tie_page,
            "product_last_updated_id",
        ),
        (
            "timestamps after it",
            &after_page,
            "product_last_updated_id",
        ),
        ("key-order snapshot", &key_page, "PRIMARY"),
        ("delete sweep", &sweep_page, "PRIMARY"),
    ] {
        assert_eq!(
            plan.access, "range",
            "{name}: a range, not a scan ({plan:?})"
        );
        assert_eq!(plan.index.as_deref(), Some(index), "{name}: {plan:?}");
        assert!(
            !plan
                .extra
                .as_deref()
                .unwrap_or_default()
                .contains("filesort"),
            "{name}: rows come in index order ({plan:?})"
        );
    }
}

#[tokio::test]
async fn a_page_deep_in_a_timestamp_shared_by_200_000_rows_reads_one_page_of_rows() {
    for column in ["TIMESTAMP(6)", "TIMESTAMP(0)"] {
        let pool = connect().await;
        let table = Scratch::create(&pool, "ties", column).await;
        // Keys step by 7 (gaps); rows before the group a second apart, the group at noon, rows
        // after it a second apart again.
        table
            .fill(&format!(
                "SELECT seq * 7, CONCAT('p', seq), 'c', 1, CASE \
                   WHEN seq <= {SPREAD} THEN TIMESTAMP('2026-01-01') + INTERVAL seq SECOND \
                   WHEN seq <= {SPREAD} + {TIE_GROUP} THEN TIMESTAMP('2026-01-02 12:00:00') \
                   ELSE TIMESTAMP('2026-01-03') + INTERVAL seq SECOND END \
                 FROM seq_1_to_{}",
                2 * SPREAD + TIE_GROUP
            ))
            .await;
        let query = table.query().await;
        let tie = At("2026-01-02 12:00:00");
        let bound = At("2026-12-31");
        // 90 % of the way into the group.
        let deep_key = Key((SPREAD + TIE_GROUP * 9 / 10) * 7);

        let tie_page = Examined::analyze(
            &pool,
            query.tie_sql(),
            &[tie, deep_key, bound, Key(PAGE.into())],
        )
        .await;
        let tie_keys = Examined::analyze(
            &pool,
            query.tie_keys_sql(),
            &[tie, deep_key, bound, Key(PAGE.into())],
        )
        .await;
        // The last row before the group: the page reads the group's first rows.
        let into_group = Examined::analyze(
            &pool,
            query.sql(),
            &[At("2026-01-01 05:33:20"), bound, Key(PAGE.into())],
        )
        .await;
        // The page after the group starts past all of it.
        let past_group =
            Examined::analyze(&pool, query.sql(), &[tie, bound, Key(PAGE.into())]).await;
        let key_page =
            Examined::analyze(&pool, query.key_sql(), &[deep_key, Key(PAGE.into())]).await;
        let sweep_page = Examined::analyze(
            &pool,
            query.sweep_keys_sql(),
            &[deep_key, Key(SWEEP_PAGE_KEYS.into())],
        )
        .await;
        // The form the producer used before, at the same cursor: the data is shaped to hurt.
        let old_form = Examined::analyze(
            &pool,
            &query.sql().replace(
                "WHERE `last_updated` > ?",
                "WHERE `last_updated` >= ? AND (`last_updated` > ? OR `id` > ?)",
            ),
            &[tie, tie, deep_key, bound, Key(PAGE.into())],
        )
        .await;
        table.drop().await;

        let keyset = ["last_updated", "id"].map(String::from).to_vec();
        let timestamp = vec!["last_updated".to_owned()];
        for (name, page, index, range_of) in [
            (
                "rest of the timestamp",
                &tie_page,
                "product_last_updated_id",
                &keyset,
            ),
            ("its keys", &tie_keys, "product_last_updated_id", &keyset),
            (
                "into the group",
                &into_group,
                "product_last_updated_id",
                &timestamp,
            ),
            (
                "past the group",
                &past_group,
                "product_last_updated_id",
                &timestamp,
            ),
            (
                "key-order snapshot",
                &key_page,
                "PRIMARY",
                &vec!["id".to_owned()],
            ),
        ] {
            eprintln!("{column}, {name}: {page:?}");
            assert_eq!(
                page.returned,
                u64::from(PAGE),
                "{column}, {name}: a full page"
            );
            assert!(
                page.rows <= f64::from(PAGE) + SLACK,
                "{column}, {name}: {} rows examined for a page of {PAGE}",
                page.rows
            );
            assert_eq!(
                (page.access.as_str(), page.index.as_str(), &page.key_parts),
                ("range", index, range_of),
                "{column}, {name}: a range that starts at the cursor"
            );
        }
        eprintln!("{column}, delete sweep: {sweep_page:?}");
        assert_eq!(
            sweep_page.returned,
            u64::from(SWEEP_PAGE_KEYS),
            "{column}, delete sweep: a full page"
        );
        assert!(
            sweep_page.rows <= f64::from(SWEEP_PAGE_KEYS) + SLACK,
            "{column}, delete sweep: {} rows examined for a page of {SWEEP_PAGE_KEYS} keys",
            sweep_page.rows
        );
        assert_eq!(
            (
                sweep_page.access.as_str(),
                sweep_page.index.as_str(),
                &sweep_page.key_parts
            ),
            ("range", "PRIMARY", &vec!["id".to_owned()]),
            "{column}, delete sweep: a range of the primary key that starts at the cursor"
        );
        eprintln!("{column}, the old form: {old_form:?}");
        assert!(
            old_form.rows > (TIE_GROUP * 8 / 10) as f64,
            "{column}: the old form reads the group before the cursor ({} rows), so this data \
             tells the forms apart",
            old_form.rows
        );
    }
}

#[tokio::test]
async fn a_run_of_keys_sharing_one_timestamp_is_read_as_a_range_of_the_primary_key() {
    let pool = connect().await;
    let table = Scratch::create(&pool, "run", "TIMESTAMP(6)").await;
    // What a bulk UPDATE of the whole table leaves: every key, one timestamp.
    table
        .fill(&format!(
            "SELECT seq, CONCAT('p', seq), 'c', 1, TIMESTAMP('2026-01-02 12:00:00') \
             FROM seq_1_to_{TIE_GROUP}"
        ))
        .await;
    let query = table.query().await;
    let tie = At("2026-01-02 12:00:00");
    let deep_key = TIE_GROUP * 9 / 10;
    let keys = Examined::analyze(
        &pool,
        query.tie_keys_sql(),
        &[tie, Key(deep_key), At("2026-12-31"), Key(PAGE.into())],
    )
    .await;
    let range = Examined::analyze(
        &pool,
        query.tie_key_range_sql(),
        &[Key(deep_key), Key(deep_key + i64::from(PAGE)), tie],
    )
    .await;
    table.drop().await;

    eprintln!("keys: {keys:?}\nrange: {range:?}");
    assert_eq!((keys.returned, range.returned), (PAGE.into(), PAGE.into()));
    assert!(keys.rows <= f64::from(PAGE) + SLACK, "{keys:?}");
    assert_eq!(
        (keys.access.as_str(), keys.index.as_str()),
        ("range", "product_last_updated_id"),
        "{keys:?}"
    );
    assert_eq!(keys.key_parts, ["last_updated", "id"], "{keys:?}");
    assert!(range.rows <= f64::from(PAGE) + SLACK, "{range:?}");
    assert_eq!(
        (range.access.as_str(), range.index.as_str()),
        ("range", "PRIMARY"),
        "{range:?}"
    );
}

async fn connect() -> MySqlPool {
    mysql::connect(&Settings::default().mysql, 1)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`")
}

/// A table shaped like `product`, with its `(last_updated, id)` index, dropped at the end.
struct Scratch<'p> {
    pool: &'p MySqlPool,
    name: String,
}

impl<'p> Scratch<'p> {
    async fn create(pool: &'p MySqlPool, purpose: &str, column: &str) -> Self {
        let name = format!("e2e_plan_{purpose}_{}", std::process::id());
        sqlx::query(&format!("DROP TABLE IF EXISTS `{name}`"))
            .execute(pool)
            .await
            .expect("drop leftover table");
        create_like_product(pool, &name).await;
        sqlx::query(&format!(
            "ALTER TABLE `{name}` MODIFY last_updated {column} NOT NULL,
             ADD COLUMN deleted_at DATETIME(6) NULL"
        ))
        .execute(pool)
        .await
        .expect("shape the table");
        Self { pool, name }
    }

    /// Inserts the rows `select` returns and refreshes the optimiser's statistics.
    async fn fill(&self, select: &str) {
        sqlx::query(&format!(
            "INSERT INTO `{}` (id, name, category, price, last_updated) {select}",
            self.name
        ))
        .execute(self.pool)
        .await
        .expect("fill table");
        sqlx::query(&format!("ANALYZE TABLE `{}`", self.name))
            .execute(self.pool)
            .await
            .expect("analyze table");
    }

    /// The producer's page queries for this table, over the sample schema's columns, with the
    /// index the producer finds for them, selecting a soft-delete mark too (`deleted_at`): the
    /// mark is one more expression and must not change what a page reads.
    async fn query(&self) -> KeysetQuery {
        let database = Settings::default().mysql.database;
        let primary = primary_key(self.pool, &database, &self.name)
            .await
            .expect("primary key");
        let index = keyset_index(
            self.pool,
            &database,
            &self.name,
            "last_updated",
            "id",
            &primary,
        )
        .await
        .expect("indexes");
        assert_eq!(index.as_deref(), Some("product_last_updated_id"));
        let columns = ["name", "category", "price", "last_updated"].map(String::from);
        let deleted = DeletedColumn::new("deleted_at", "datetime");
        KeysetQuery::marking_deleted(
            &self.name,
            "id",
            Some("last_updated"),
            &columns,
            index.as_deref(),
            Some(&deleted),
        )
    }

    async fn drop(self) {
        sqlx::query(&format!("DROP TABLE `{}`", self.name))
            .execute(self.pool)
            .await
            .expect("drop table");
    }
}
