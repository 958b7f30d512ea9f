//! Every page query of the producer reads the rows it returns and no others, whatever the data.
//!
//! The access type alone proves little: the old page query was a `range` too, yet a page deep in
//! a group of rows sharing one timestamp read every row of the group before it. So these tests
//! run each query under `ANALYZE FORMAT=JSON` on data shaped to hurt it (200 000 rows sharing one
//! timestamp, whole-second `TIMESTAMP(0)`, gaps in the keys) and assert the rows it examined.
//! The delete sweep's page of keys is held to the same.

use serde_json::Value;
use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_e2e::product_table::create_like_product;
use sluice_producer::delete_sweep::SWEEP_PAGE_KEYS;
use sluice_producer::source::columns::{keyset_index, primary_key};
use sluice_producer::source::deleted::DeletedColumn;
use sluice_producer::source::keyset::KeysetQuery;
use sqlx::{MySqlPool, Row};

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

/// A bind parameter: a timestamp as text, or an integer.
#[derive(Debug, Clone, Copy)]
enum Param {
    At(&'static str),
    Key(i64),
}
use Param::{At, Key};

fn bind_all<'q>(
    sql: &'q str,
    params: &[Param],
) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    params
        .iter()
        .fold(sqlx::query(sql), |query, param| match *param {
            At(at) => query.bind(at),
            Key(key) => query.bind(key),
        })
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
            "last_updated",
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

/// What EXPLAIN says of a query's one table.
#[derive(Debug)]
struct Plan {
    /// How the table is read: `range`, `ALL`, …
    access: String,
    /// The index read, if any.
    index: Option<String>,
    /// Notes such as `Using filesort`.
    extra: Option<String>,
}

impl Plan {
    async fn explain(pool: &MySqlPool, sql: &str, params: &[Param]) -> Self {
        let explain = format!("EXPLAIN {sql}");
        let row = bind_all(&explain, params)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|error| panic!("{explain}: {error}"));
        Self {
            access: row.try_get("type").expect("type"),
            index: row.try_get("key").expect("key"),
            extra: row.try_get("Extra").expect("Extra"),
        }
    }
}

/// What a query did when it ran: the rows it returned, the index entries it examined, and the
/// index columns its access was a range of. ANALYZE's `r_rows` leaves out the entries that an
/// index condition pushed down to the engine rejected (a `ref` on the timestamp alone that
/// checks each key in the engine reads the whole timestamp and reports a page), so those are
/// counted apart, from the session's `Handler_icp_attempts` less `Handler_icp_match`.
#[derive(Debug)]
struct Examined {
    returned: u64,
    rows: f64,
    access: String,
    index: String,
    key_parts: Vec<String>,
}

impl Examined {
    async fn analyze(pool: &MySqlPool, sql: &str, params: &[Param]) -> Self {
        let mut session = pool.acquire().await.expect("a connection");
        let before = pushed_down_rejections(&mut session).await;
        let returned = bind_all(sql, params)
            .fetch_all(&mut *session)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
            .len() as u64;
        let rejected = pushed_down_rejections(&mut session).await - before;
        let analyze = format!("ANALYZE FORMAT=JSON {sql}");
        let text: String = bind_all(&analyze, params)
            .fetch_one(&mut *session)
            .await
            .unwrap_or_else(|error| panic!("{analyze}: {error}"))
            .try_get(0)
            .expect("ANALYZE's JSON");
        let document: Value = serde_json::from_str(&text).expect("ANALYZE returns JSON");
        let mut tables = Vec::new();
        collect_tables(&document, &mut tables);
        assert_eq!(tables.len(), 1, "one table read: {text}");
        let table = tables[0];
        let text_of = |field: &str| table[field].as_str().unwrap_or_default().to_owned();
        let reported = table["r_rows"]
            .as_f64()
            .unwrap_or_else(|| panic!("r_rows in {text}"));
        Self {
            returned,
            rows: reported + rejected as f64,
            access: text_of("access_type"),
            index: text_of("key"),
            key_parts: table["used_key_parts"]
                .as_array()
                .map(|parts| {
                    parts
                        .iter()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Index entries the session's pushed-down index conditions have rejected so far.
async fn pushed_down_rejections(session: &mut sqlx::MySqlConnection) -> i64 {
    let counters: Vec<(String, String)> =
        sqlx::query_as("SHOW SESSION STATUS LIKE 'Handler_icp_%'")
            .fetch_all(&mut *session)
            .await
            .expect("session status");
    let value = |name: &str| {
        counters
            .iter()
            .find(|(variable, _)| variable.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| value.parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{name} in {counters:?}"))
    };
    value("Handler_icp_attempts") - value("Handler_icp_match")
}

/// Every `"table"` object in ANALYZE's document, wherever the plan nests it.
fn collect_tables<'v>(value: &'v Value, tables: &mut Vec<&'v Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "table" && child.is_object() {
                    tables.push(child);
                }
                collect_tables(child, tables);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_tables(item, tables)),
        _ => {}
    }
}
