use std::collections::HashMap;
use std::io::Write;

use super::*;
use crate::settings::{Choice, GroupProtocol, Origin};

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

/// Asserts each of the four secrets of `settings` is `secret`.
fn assert_every_secret_is(settings: &Settings, secret: &str) {
    assert_eq!(settings.mysql.password, secret);
    assert_eq!(settings.kafka.sasl_password, secret);
    assert_eq!(settings.registry.password, secret);
    assert_eq!(settings.kafka.key_password, secret);
}

#[test]
fn a_string_from_the_environment_is_kept_byte_for_byte() {
    for secret in ["007", "TRUE", "1e3", "0x1F", " a #b=c \"d\" 'e' ", ""] {
        let env = [
            ("SLUICE__MYSQL__PASSWORD", secret),
            ("SLUICE__KAFKA__SASL_PASSWORD", secret),
            ("SLUICE__REGISTRY__PASSWORD", secret),
            ("SLUICE__KAFKA__KEY_PASSWORD", secret),
        ];
        assert_every_secret_is(&load(&layers(None, &env, &[])).expect("loads"), secret);
    }
}

#[test]
fn every_kind_of_setting_parses_from_the_environment() {
    let env = [
        ("SLUICE__MYSQL__PORT", "3307"),
        ("SLUICE__KAFKA__PARTITIONS", "12"),
        ("SLUICE__PRODUCER__BATCH_SIZE", "007"),
        ("SLUICE__PRODUCER__EXACTLY_ONCE", "false"),
        ("SLUICE__KAFKA__VERIFY_HOSTNAME", "FALSE"),
        ("SLUICE__KAFKA__COMPACT_TOPIC", "true"),
        ("SLUICE__KAFKA__SECURITY_PROTOCOL", "PLAINTEXT"),
        ("SLUICE__CONSUMER__GROUP_PROTOCOL", "classic"),
        ("SLUICE__KAFKA__TOPIC", "1e3"),
    ];
    let settings = load(&layers(None, &env, &[])).expect("loads");
    assert_eq!(settings.mysql.port, 3307);
    assert_eq!(settings.kafka.partitions, 12);
    assert_eq!(settings.producer.batch_size, 7);
    assert!(!settings.producer.exactly_once);
    assert!(!settings.kafka.verify_hostname);
    assert!(settings.kafka.compact_topic);
    assert_eq!(settings.consumer.group_protocol, GroupProtocol::Classic);
    assert_eq!(settings.kafka.topic, "1e3");
}

#[test]
fn a_number_setting_refuses_a_word_from_the_environment_naming_it() {
    let env = [("SLUICE__MYSQL__PORT", "many")];
    let error = load(&layers(None, &env, &[]))
        .expect_err("refused")
        .to_string();
    assert!(error.contains("port"), "{error}");
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
fn a_step_beyond_100_percent_is_rejected_by_its_index() {
    let file = file_with(
        "[[transform.steps]]\nop = \"drop\"\nfield = \"name\"\n\n\
         [[transform.steps]]\nop = \"percent_off\"\nfield = \"price\"\npercent = 150\n",
    );
    let err = load(&layers(Some(&file), &[], &[])).expect_err("150% must fail");
    assert!(
        err.to_string().contains("transform.steps[1].percent"),
        "{err}"
    );
}

#[test]
fn unknown_key_inside_a_step_is_rejected() {
    let file = file_with("[[transform.steps]]\nop = \"drop\"\nfield = \"x\"\npercnt = 5\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("typo must fail");
    assert!(err.to_string().contains("percnt"), "{err}");
    let file = file_with("[[transform.steps]]\nop = \"lower_case\"\nfield = \"x\"\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("unknown op must fail");
    assert!(err.to_string().contains("upper_case, percent_off"), "{err}");
}

#[test]
fn retired_discounts_are_refused_with_the_steps_that_give_the_same_lines() {
    let file = file_with("[[transform.discounts]]\ncategory = \"electronics\"\npercent = 10\n");
    let err = load(&layers(Some(&file), &[], &[])).expect_err("retired key");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    let (_, replacement) = text
        .split_once("the same lines come from: ")
        .expect("the replacement is written out");
    let replacement = replacement.replacen("[transform] ", "[transform]\n", 1);
    let file = file_with(&replacement);
    let settings = load(&layers(Some(&file), &[], &[])).expect("the replacement loads");
    assert_eq!(
        settings.transform,
        crate::settings::TransformSettings::product_example()
    );
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

#[test]
fn a_secret_comes_from_its_file_intact_less_one_line_break() {
    let folder = tempfile::tempdir().expect("temp dir");
    for (secret, content) in [("007", "007\n"), (" a #b=c \"d\" ", " a #b=c \"d\" ")] {
        let path = folder.path().join("secret");
        std::fs::write(&path, content).expect("write the secret");
        let path = path.display().to_string();
        let env = [
            ("SLUICE__MYSQL__PASSWORD_FILE", path.as_str()),
            ("SLUICE__KAFKA__SASL_PASSWORD_FILE", path.as_str()),
            ("SLUICE__REGISTRY__PASSWORD_FILE", path.as_str()),
            ("SLUICE__KAFKA__KEY_PASSWORD_FILE", path.as_str()),
        ];
        assert_every_secret_is(&load(&layers(None, &env, &[])).expect("loads"), secret);
    }
}

#[test]
fn a_secret_file_replaces_the_secret_set_otherwise_and_says_so() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("password");
    std::fs::write(&path, "from-the-file").expect("write");
    let file = file_with("[mysql]\npassword = \"from-the-config\"\n");
    let path_text = path.display().to_string();
    let env = [("SLUICE__MYSQL__PASSWORD_FILE", path_text.as_str())];
    let loaded = load_explained(&layers(Some(&file), &env, &[])).expect("loads");
    assert_eq!(loaded.settings.mysql.password, "from-the-file");
    assert_eq!(
        loaded.provenance.of("mysql.password"),
        Origin::SecretFile(path.clone())
    );
}

#[test]
fn an_unreadable_secret_file_is_refused_naming_the_key_and_the_file() {
    let env = [("SLUICE__KAFKA__SASL_PASSWORD_FILE", "/nonexistent/secret")];
    let error = load(&layers(None, &env, &[]))
        .expect_err("unreadable")
        .to_string();
    assert!(
        error.contains("kafka.sasl_password_file") && error.contains("/nonexistent/secret"),
        "{error}"
    );
}

#[test]
fn relative_paths_in_a_file_are_relative_to_its_folder_and_others_to_the_working_directory() {
    let file =
        file_with("[consumer]\noutput_dir = \"out\"\n[producer]\nschema_file = \"/abs/p.avsc\"\n");
    let folder = file.path().parent().expect("a folder").to_path_buf();
    let env = [("SLUICE__PRODUCER__WATERMARK_FILE", "w.json")];
    let settings = load(&layers(
        Some(&file),
        &env,
        &["consumer.reader_schema_file=r.avsc"],
    ))
    .expect("loads");
    assert_eq!(
        settings.consumer.output_dir,
        folder.join("out").display().to_string()
    );
    assert_eq!(settings.producer.schema_file, "/abs/p.avsc");
    assert_eq!(settings.producer.watermark_file, "w.json");
    assert_eq!(settings.consumer.reader_schema_file, "r.avsc");
}

#[test]
fn each_value_says_where_it_came_from_and_secrets_are_redacted() {
    let file = file_with("[mysql]\nhost = \"db\"\n");
    let env = [("SLUICE__MYSQL__PASSWORD", "007")];
    let loaded = load_explained(&layers(Some(&file), &env, &["kafka.topic=t"])).expect("loads");
    let provenance = &loaded.provenance;
    assert_eq!(
        provenance.of("mysql.host"),
        Origin::File(file.path().to_path_buf())
    );
    assert_eq!(
        provenance.of("mysql.password"),
        Origin::Environment("SLUICE__MYSQL__PASSWORD".into())
    );
    assert_eq!(provenance.of("kafka.topic"), Origin::Flag);
    assert_eq!(provenance.of("mysql.port"), Origin::Default);
    let shown = crate::settings::explain(&loaded);
    let password = shown
        .iter()
        .find(|line| line.key == "mysql.password")
        .expect("the password is listed");
    assert_eq!(password.value, "\"<redacted>\"");
    assert_eq!(password.origin, "environment SLUICE__MYSQL__PASSWORD");
    let text = crate::settings::render(&shown);
    assert!(!text.contains("007"), "{text}");
    assert!(text.contains("topic = \"t\"  # --set"), "{text}");
    let reparsed: toml::Value = toml::from_str(&text).expect("the lines are TOML");
    assert_eq!(reparsed["mysql"]["host"].as_str(), Some("db"));
}
