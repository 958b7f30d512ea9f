//! Keys an earlier release read and this one does not. Each is refused with what replaces it,
//! written out in the user's own values where it can be, rather than as an unknown key: an
//! upgrade that changed what lines hold must not pass silently, nor leave the user guessing.

use config::Config;
use serde::Deserialize;

use super::error::unworkable;
use super::SettingsError;

/// One entry of the retired `[[transform.discounts]]`.
#[derive(Debug, Deserialize)]
struct RetiredDiscount {
    category: String,
    percent: f64,
}

/// Refuses `transform.discounts`, saying which `transform.steps` give the same lines.
pub(super) fn refuse_retired_keys(merged: &Config) -> Result<(), SettingsError> {
    let Ok(discounts) = merged.get::<config::Value>("transform.discounts") else {
        return Ok(());
    };
    let replacement = match discounts.try_deserialize::<Vec<RetiredDiscount>>() {
        Ok(discounts) => steps_for(&discounts),
        Err(_) => "an `upper_case` step on category, then one `percent_off` step on price for \
                   each category (docs/configuration.md)"
            .to_owned(),
    };
    Err(unworkable(
        "transform.discounts",
        format!(
            "was replaced by transform.steps, and category is no longer upper-cased unless a \
             step says so; the same lines come from: {replacement}"
        ),
    ))
}

/// `[transform] steps = [...]` giving what `discounts` gave: category upper-cased, each
/// discount taken off price when category holds its category.
fn steps_for(discounts: &[RetiredDiscount]) -> String {
    let mut steps = vec![r#"{ op = "upper_case", field = "category" }"#.to_owned()];
    for discount in discounts {
        steps.push(format!(
            r#"{{ op = "percent_off", field = "price", percent = {}, when_field = "category", equals = {} }}"#,
            toml::Value::Float(discount.percent),
            toml::Value::String(discount.category.clone()),
        ));
    }
    format!("[transform] steps = [{}]", steps.join(", "))
}
