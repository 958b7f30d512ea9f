//! What an `ALTER TABLE` changed, column by column, in the words a log line and a refusal use:
//! "column `stock` added (int(11) NOT NULL DEFAULT 0)", "column `price` float → varchar(20)".

use super::catalogue::TableColumn;

/// The differences from `before` to `after`, by column name (any case), in table order: added,
/// dropped, and changed columns.
pub fn describe_changes(before: &[TableColumn], after: &[TableColumn]) -> Vec<String> {
    let find = |columns: &[TableColumn], name: &str| {
        columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .cloned()
    };
    let mut changes = Vec::new();
    for column in after {
        match find(before, &column.name) {
            None => changes.push(format!(
                "column `{}` added ({})",
                column.name,
                definition(column)
            )),
            Some(old) if definition(&old) != definition(column) => changes.push(format!(
                "column `{}` {} → {}",
                column.name,
                definition(&old),
                definition(column)
            )),
            Some(_) => {}
        }
    }
    for column in before {
        if find(after, &column.name).is_none() {
            changes.push(format!("column `{}` dropped", column.name));
        }
    }
    if changes.is_empty() && before != after {
        changes.push("columns reordered".to_owned());
    }
    changes
}

/// `int(11) NOT NULL DEFAULT 0`, as far as the catalogue says.
fn definition(column: &TableColumn) -> String {
    let mut text = column.column_type.clone();
    if !column.nullable {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        text.push_str(" DEFAULT ");
        text.push_str(default);
    }
    if column.generated {
        text.push_str(" GENERATED");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, column_type: &str) -> TableColumn {
        TableColumn {
            column_type: column_type.to_owned(),
            ..TableColumn::of_type(name, column_type)
        }
    }

    #[test]
    fn added_dropped_and_changed_columns_are_named() {
        let before = [
            column("id", "int(11)"),
            column("price", "float"),
            column("note", "text"),
        ];
        let after = [
            column("id", "int(11)"),
            column("price", "varchar(20)"),
            TableColumn {
                nullable: true,
                ..column("stock", "int(11)")
            },
        ];
        assert_eq!(
            describe_changes(&before, &after),
            [
                "column `price` float NOT NULL → varchar(20) NOT NULL",
                "column `stock` added (int(11))",
                "column `note` dropped",
            ]
        );
        assert!(describe_changes(&before, &before).is_empty());
        let reordered = [before[1].clone(), before[0].clone(), before[2].clone()];
        assert_eq!(describe_changes(&before, &reordered), ["columns reordered"]);
    }
}
