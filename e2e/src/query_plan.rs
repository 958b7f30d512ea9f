//! What the database does with a query: its plan (`EXPLAIN`) and, run for real, the rows it
//! examined (`ANALYZE FORMAT=JSON`, with the entries a pushed-down index condition rejected
//! counted apart), so a test asserts the work a paged query does, not only its access type.

use serde_json::Value;
use sqlx::{MySqlPool, Row};

/// A bind parameter: a timestamp as text, or an integer.
#[derive(Debug, Clone, Copy)]
pub enum Param {
    /// A timestamp, as text.
    At(&'static str),
    /// A key.
    Key(i64),
}
use Param::{At, Key};

/// `sql` with `params` bound in order.
pub fn bind_all<'q>(
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

/// What EXPLAIN says of a query's one table.
#[derive(Debug)]
pub struct Plan {
    /// How the table is read: `range`, `ALL`, …
    pub access: String,
    /// The index read, if any.
    pub index: Option<String>,
    /// Notes such as `Using filesort`.
    pub extra: Option<String>,
}

impl Plan {
    /// `EXPLAIN sql` with `params`.
    pub async fn explain(pool: &MySqlPool, sql: &str, params: &[Param]) -> Self {
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
pub struct Examined {
    /// Rows the query returned.
    pub returned: u64,
    /// Index entries or rows it examined.
    pub rows: f64,
    /// How the table was read.
    pub access: String,
    /// The index read.
    pub index: String,
    /// The index columns its access was a range of.
    pub key_parts: Vec<String>,
}

impl Examined {
    /// Runs `sql` with `params`, then `ANALYZE FORMAT=JSON` of it on the same session.
    pub async fn analyze(pool: &MySqlPool, sql: &str, params: &[Param]) -> Self {
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
