//! The scenario's table: products inserted and updated as the tests need them, and the lines
//! its rows should become.

use std::collections::HashMap;

use serde_json::Value;

use super::Scenario;
use crate::expected::{expected_line, select_rows, Row};
use sluice_verify::expected::Expectation;

impl Scenario {
    /// Inserts products `ids` with deterministic names, mixed-case categories and cent prices;
    /// `at` fixes `last_updated` (e.g. many rows sharing one second).
    pub async fn insert_products(&self, ids: std::ops::Range<i32>, at: Option<&str>) {
        let categories = ["electronics", "Home", "toys", "Books", "ELECTRONICS"];
        let ids: Vec<i32> = ids.collect();
        for chunk in ids.chunks(1000) {
            let row = if at.is_some() {
                "(?, ?, ?, ?, ?)"
            } else {
                "(?, ?, ?, ?)"
            };
            let columns = if at.is_some() {
                "id, name, category, price, last_updated"
            } else {
                "id, name, category, price"
            };
            let sql = format!(
                "INSERT INTO `{}` ({columns}) VALUES {}",
                self.names.table,
                vec![row; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(&sql);
            for &id in chunk {
                query = query
                    .bind(id)
                    .bind(format!("Item {id}"))
                    .bind(categories[id as usize % categories.len()])
                    .bind(price_for(id, 0));
                if let Some(at) = at {
                    query = query.bind(at);
                }
            }
            query.execute(&self.pool).await.expect("insert products");
        }
    }

    /// Gives product `id` a name of `bytes` bytes (the column widened to `MEDIUMTEXT` first): a
    /// row whose record is larger than the topic takes.
    pub async fn give_a_name_of(&self, id: i32, bytes: usize) {
        let table = &self.names.table;
        sqlx::query(&format!("ALTER TABLE `{table}` MODIFY name MEDIUMTEXT"))
            .execute(&self.pool)
            .await
            .expect("room for a large name");
        sqlx::query(&format!(
            "UPDATE `{table}` SET name = REPEAT('x', ?) WHERE id = ?"
        ))
        .bind(bytes as u64)
        .bind(id)
        .execute(&self.pool)
        .await
        .expect("a large name");
    }

    /// Updates the price and name of each id in `ids`, one transaction per call.
    pub async fn update_products(&self, ids: &[i32], round: i32) {
        let mut transaction = self.pool.begin().await.expect("begin");
        for &id in ids {
            sqlx::query(&format!(
                "UPDATE `{}` SET price = ?, name = ? WHERE id = ?",
                self.names.table
            ))
            .bind(price_for(id, round))
            .bind(format!("Item {id} v{round}"))
            .bind(id)
            .execute(&mut *transaction)
            .await
            .expect("update");
        }
        transaction.commit().await.expect("commit");
    }

    /// The line every valid row should end with, by id.
    pub async fn expected(&self) -> HashMap<i32, Value> {
        let producer = &self.settings.producer;
        let expectation = Expectation::new(
            &self.settings.transform,
            &producer.key_column,
            &producer.timestamp_column,
        )
        .expect("the steps load");
        let rows: Vec<Row> = sqlx::query_as(&select_rows(&self.names.table))
            .fetch_all(&self.pool)
            .await
            .expect("read rows");
        rows.iter()
            .filter_map(|row| expected_line(row, &expectation).map(|line| (row.id, line)))
            .collect()
    }
}

/// A price in whole cents that changes with each update round.
pub fn price_for(id: i32, round: i32) -> f32 {
    let cents = (id * 37 + round * 101).rem_euclid(50_000) + 100;
    format!("{}.{:02}", cents / 100, cents % 100)
        .parse()
        .unwrap_or(1.0)
}
