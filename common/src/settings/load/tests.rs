use std::collections::HashMap;
use std::io::Write;

use super::*;
use crate::settings::{Choice, GroupProtocol};

fn file_with(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    file.write_all(contents.as_bytes())
        .expect("write temp file");
    file
}

fn layers(file: Option<&tempfile::NamedTempFile>, env: &[(&str, &str)], sets: &[&str]) -> Layers {
    Layers {
        file: file.map(|f| f.path().to_path_buf()),
        environment: Some(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        ),
        overrides: sets.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn nothing_set_gives_the_local_stack_defaults() {
    let settings = load(&layers(None, &[], &[])).expect("defaults load");
    assert_eq!(settings, Settings::default());
    assert_eq!(settings.mysql.host, "127.0.0.1");
    assert_eq!(settings.kafka.partitions, 10);
    assert_eq!(
        settings.registry.url,
        "http://127.0.0.1:8081/apis/ccompat/v7"
    );
}

#[test]
fn environment_overrides_file_and_flags_override_both() {
    let file =
        file_with("[mysql]\nhost = \"db.example\"\nport = 3307\n[kafka]\ntopic = \"from_file\"\n");
    let env = [
        ("SLUICE__MYSQL__PORT", "3308"),
        ("SLUICE__KAFKA__TOPIC", "from_env"),
    ];
    let settings = load(&layers(Some(&file), &env, &["kafka.topic=from_flag"])).expect("loads");
    assert_eq!(settings.mysql.host, "db.example", "file value kept");
    assert_eq!(settings.mysql.port, 3308, "environment beats file");
    assert_eq!(settings.kafka.topic, "from_flag", "flag beats environment");
    assert_eq!(
        settings.kafka.partitions, 10,
        "untouched keys keep defaults"
    );
}

#[test]
fn multi_word_keys_are_reachable_from_the_environment() {
    let env = [("SLUICE__MYSQL__CONNECT_TIMEOUT_SECS", "9")];
    let settings = load(&layers(None, &env, &[])).expect("loads");
    assert_eq!(settings.mysql.connect_timeout_secs, 9);
}

#[test]
fn flag_values_are_parsed_to_the_field_type() {
    let settings = load(&layers(None, &[], &["kafka.partitions=12"])).expect("loads");
    assert_eq!(settings.kafka.partitions, 12);
}

#[test]
fn unknown_key_in_file_names_key_and_file() {
    let file = file_with("[mysql]\nprot = 3306\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("typo must fail");
    let message = err.to_string();
    assert!(message.contains("`mysql.prot`"), "{message}");
    let file_name = file.path().file_name().expect("name").to_string_lossy();
    assert!(message.contains(file_name.as_ref()), "{message}");
}

#[test]
fn unknown_section_in_file_is_rejected() {
    let file = file_with("[mysqll]\nport = 3306\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("unknown section must fail");
    assert!(err.to_string().contains("`mysqll.port`"), "{err}");
}

#[test]
fn unknown_environment_variable_is_named() {
    let env = [("SLUICE__MYSQL__HOSTT", "x")];
    let err = load(&layers(None, &env, &[])).expect_err("typo must fail");
    assert_eq!(
        err.to_string(),
        "unknown configuration key `mysql.hostt` in environment variable SLUICE__MYSQL__HOSTT"
    );
}

#[test]
fn unknown_flag_key_is_named() {
    let err = load(&layers(None, &[], &["kafka.topics=x"])).expect_err("typo must fail");
    assert!(err.to_string().contains("`kafka.topics` in --set"), "{err}");
}

#[test]
fn wrong_type_names_key_and_file() {
    let file = file_with("[mysql]\nport = \"three\"\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("wrong type must fail");
    let message = err.to_string();
    assert!(message.contains("mysql.port"), "{message}");
    let file_name = file.path().file_name().expect("name").to_string_lossy();
    assert!(message.contains(file_name.as_ref()), "{message}");
}

#[test]
fn out_of_range_value_is_rejected() {
    let err = load(&layers(None, &[("SLUICE__MYSQL__PORT", "70000")], &[]))
        .expect_err("port beyond u16 must fail");
    assert!(err.to_string().contains("mysql.port"), "{err}");
}

#[test]
fn broken_toml_names_the_file() {
    let file = file_with("[mysql\nport = 1\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("syntax error must fail");
    let file_name = file.path().file_name().expect("name").to_string_lossy();
    assert!(err.to_string().contains(file_name.as_ref()), "{err}");
}

#[test]
fn missing_named_file_is_an_error() {
    let layers = Layers {
        file: Some("/nonexistent/sluice.toml".into()),
        ..Layers::default()
    };
    let err = load(&layers).expect_err("missing file must fail");
    assert_eq!(
        err.to_string(),
        "configuration file /nonexistent/sluice.toml not found"
    );
}

#[test]
fn malformed_flag_is_explained() {
    for bad in ["kafka.topic", "topic=x", "=x"] {
        let err = load(&layers(None, &[], &[bad])).expect_err("malformed flag must fail");
        assert!(matches!(err, SettingsError::BadOverride(_)), "{bad}: {err}");
    }
}

#[test]
fn every_error_is_one_line() {
    let file = file_with("[mysql\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("must fail");
    assert!(!err.to_string().trim_end().contains('\n'), "{err}");
}

#[test]
fn discount_beyond_100_percent_is_rejected() {
    let file = file_with("[[transform.discounts]]\ncategory = \"toys\"\npercent = 150\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("150% must fail");
    assert!(
        err.to_string().contains("transform.discounts[0].percent"),
        "{err}"
    );
}

#[test]
fn unknown_key_inside_a_discount_is_rejected() {
    let file = file_with("[[transform.discounts]]\ncategory = \"toys\"\npercnt = 5\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("typo must fail");
    assert!(err.to_string().contains("percnt"), "{err}");
}

#[test]
fn unknown_compression_is_rejected() {
    let err = load(&layers(None, &[], &["producer.compression=brotli"])).expect_err("must fail");
    assert!(err.to_string().contains("producer.compression"), "{err}");
}

#[test]
fn zero_batch_size_is_rejected() {
    let err = load(&layers(None, &[], &["producer.batch_size=0"])).expect_err("must fail");
    assert!(err.to_string().contains("producer.batch_size"), "{err}");
}

#[test]
fn member_names_that_are_not_file_names_are_rejected() {
    let err = load(&layers(None, &[], &["consumer.member=../x"])).expect_err("must fail");
    assert!(err.to_string().contains("consumer.member"), "{err}");
}

#[test]
fn group_protocol_is_chosen_by_name_and_an_unknown_one_is_named() {
    let settings =
        load(&layers(None, &[], &["consumer.group_protocol=classic"])).expect("classic loads");
    assert_eq!(settings.consumer.group_protocol, GroupProtocol::Classic);
    assert_eq!(
        Settings::default().consumer.group_protocol.name(),
        "consumer"
    );
    let err = load(&layers(None, &[], &["consumer.group_protocol=eager"])).expect_err("must fail");
    let message = err.to_string();
    assert!(message.contains("consumer.group_protocol"), "{message}");
    assert!(message.contains("classic"), "{message}");
}
