//! The shipped `sluice.toml` is the configuration reference: it must load, and list every key
//! with exactly its default, so the file and the code cannot drift apart.

use std::path::Path;

use sluice_common::settings::{load, Layers, Settings};

fn shipped_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sluice.toml")
}

#[test]
fn shipped_sluice_toml_loads_to_the_defaults() {
    let layers = Layers {
        file: Some(shipped_file()),
        environment: Some(Default::default()),
        overrides: Vec::new(),
    };
    assert_eq!(
        load(&layers).expect("sluice.toml loads"),
        Settings::default()
    );
}

#[test]
fn shipped_sluice_toml_lists_every_key() {
    let text = std::fs::read_to_string(shipped_file()).expect("read sluice.toml");
    let file: toml::Value = toml::from_str(&text).expect("sluice.toml is TOML");
    let defaults = toml::Value::try_from(Settings::default()).expect("defaults serialize");
    assert_eq!(
        file, defaults,
        "sluice.toml must list every key with its default"
    );
}
