//! `docs/configuration.md`'s settings reference is the rendering of the settings' doc comments
//! and defaults (`sluice_e2e::settings_reference`): `SLUICE_BLESS=1` rewrites it.

use sluice_common::settings::{Settings, TransformSettings};
use sluice_e2e::repo_root;
use sluice_e2e::settings_reference::{render, render_toml, with_reference, DOCUMENT, SOURCES};

fn sources() -> Vec<String> {
    SOURCES
        .iter()
        .map(|path| std::fs::read_to_string(repo_root().join(path)).expect("a settings source"))
        .collect()
}

/// Compares `path` with `generated`; `SLUICE_BLESS=1` writes it first.
fn assert_generated(path: &str, generated: &str) {
    let file = repo_root().join(path);
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&file, generated).expect("write a generated file");
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "{path} is not the rendering of the settings' doc comments: run SLUICE_BLESS=1 cargo test -p sluice-e2e --test settings_reference"
    );
}

/// `sluice.toml` is generated too: every key with its default (and the product's example transform steps) and
/// the first sentence of its doc comment. `common/tests/sluice_toml.rs` checks that it loads to
/// exactly those values.
#[test]
fn sluice_toml_is_generated_from_the_settings() {
    let shipped = Settings {
        transform: TransformSettings::product_example(),
        ..Settings::default()
    };
    let text = render_toml(&sources(), &shipped);
    let parsed: toml::Value = toml::from_str(&text).expect("the rendering is TOML");
    assert_eq!(
        parsed,
        toml::Value::try_from(&shipped).expect("serialize"),
        "the rendering holds exactly the shipped values:\n{text}"
    );
    assert_generated("sluice.toml", &text);
}

#[test]
fn the_configuration_reference_is_generated_from_the_settings() {
    let root = repo_root();
    let sources = sources();
    let reference = render(&sources);
    let defaults = toml::Value::try_from(sluice_common::settings::Settings::default())
        .expect("the defaults serialize");
    let mut keys = 0;
    for (section, table) in defaults.as_table().into_iter().flatten() {
        for key in table.as_table().into_iter().flatten().map(|(key, _)| key) {
            keys += 1;
            assert!(
                reference.contains(&format!("| `{section}.{key}` |")),
                "{section}.{key} has no row in the reference (a field without a doc comment?)"
            );
        }
    }
    assert!(keys >= 60, "the settings' keys were found: {keys}");
    let committed = std::fs::read_to_string(root.join(DOCUMENT)).expect("docs/configuration.md");
    let generated = with_reference(&committed, &reference)
        .expect("docs/configuration.md holds the reference's begin and end markers");
    assert_generated(DOCUMENT, &generated);
}
