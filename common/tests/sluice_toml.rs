//! The shipped `sluice.toml` (generated from the settings' doc comments, see
//! `e2e/tests/settings_reference.rs`) must load, list every key, and
//! give each its built-in default but for the product's example transform steps it shows.

use std::path::Path;

use sluice_common::settings::{load, Layers, Settings, TransformSettings};

fn shipped_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sluice.toml")
}

fn shipped() -> Settings {
    let layers = Layers {
        file: Some(shipped_file()),
        environment: Some(Default::default()),
        overrides: Vec::new(),
    };
    load(&layers).expect("sluice.toml loads")
}

#[test]
fn shipped_sluice_toml_gives_the_defaults_plus_its_example_steps() {
    let mut expected = Settings {
        transform: TransformSettings::product_example(),
        ..Settings::default()
    };
    // The relative paths it sets are relative to its folder.
    let folder = shipped_file()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for path in [
        &mut expected.producer.schema_file,
        &mut expected.producer.watermark_file,
        &mut expected.consumer.reader_schema_file,
        &mut expected.consumer.output_dir,
    ] {
        *path = folder.join(path.as_str()).display().to_string();
    }
    assert_eq!(shipped(), expected);
}

#[test]
fn shipped_sluice_toml_lists_every_key() {
    let text = std::fs::read_to_string(shipped_file()).expect("read sluice.toml");
    let mut file: toml::Value = toml::from_str(&text).expect("sluice.toml is TOML");
    let mut defaults = toml::Value::try_from(Settings::default()).expect("defaults serialize");
    // The example steps are the one value that differs; every key must still be there.
    for table in [&mut file, &mut defaults] {
        let transform = table
            .get_mut("transform")
            .and_then(toml::Value::as_table_mut);
        let steps = transform.and_then(|t| t.remove("steps"));
        assert!(steps.is_some(), "transform.steps must be listed");
    }
    assert_eq!(
        file, defaults,
        "sluice.toml must list every key with its default"
    );
}
