//! The settings that name files, and the secrets that may be read from one.
//!
//! A relative path set in a configuration file is relative to that file's folder, so a file
//! and what it names move together (a mounted ConfigMap, the image's `/sluice`); a relative
//! path from a default, the environment or `--set` stays relative to the working directory.
//! A secret's `…_file` is read once at start: its content, less one trailing line break, is
//! the secret, whatever the secret's own setting says (the shipped file lists a password; a
//! mounted Secret replaces it), and `config` says it came from that file.

use std::path::{Path, PathBuf};

use super::error::unworkable;
use super::{Settings, SettingsError};

/// Every setting that names a file or folder, by its dotted key.
pub(super) fn path_settings(settings: &mut Settings) -> [(&'static str, &mut String); 15] {
    let Settings {
        mysql,
        kafka,
        registry,
        producer,
        consumer,
        ..
    } = settings;
    [
        ("mysql.password_file", &mut mysql.password_file),
        ("mysql.ca_file", &mut mysql.ca_file),
        ("mysql.certificate_file", &mut mysql.certificate_file),
        ("mysql.key_file", &mut mysql.key_file),
        ("kafka.sasl_password_file", &mut kafka.sasl_password_file),
        ("kafka.key_password_file", &mut kafka.key_password_file),
        ("kafka.ca_file", &mut kafka.ca_file),
        ("kafka.certificate_file", &mut kafka.certificate_file),
        ("kafka.key_file", &mut kafka.key_file),
        ("registry.password_file", &mut registry.password_file),
        ("registry.ca_file", &mut registry.ca_file),
        ("producer.schema_file", &mut producer.schema_file),
        ("producer.watermark_file", &mut producer.watermark_file),
        (
            "consumer.reader_schema_file",
            &mut consumer.reader_schema_file,
        ),
        ("consumer.output_dir", &mut consumer.output_dir),
    ]
}

/// Makes each relative path whose key `from_file` says was set in the file at `file`
/// relative to that file's folder.
pub(super) fn resolve_against_file(
    settings: &mut Settings,
    file: &Path,
    from_file: impl Fn(&str) -> bool,
) {
    let Some(folder) = file
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    else {
        return;
    };
    for (key, value) in path_settings(settings) {
        if !value.is_empty() && Path::new(value.as_str()).is_relative() && from_file(key) {
            *value = folder.join(value.as_str()).display().to_string();
        }
    }
    if from_file("transform.steps") {
        settings.transform.resolve_against(folder);
    }
}

/// The secrets, by dotted key: redacted wherever settings are shown.
pub const SECRET_KEYS: [&str; 4] = [
    "mysql.password",
    "kafka.sasl_password",
    "kafka.key_password",
    "registry.password",
];

/// A secret setting and the setting naming the file it may come from.
struct Secret<'a> {
    key: &'static str,
    file_key: &'static str,
    value: &'a mut String,
    file: &'a str,
}

fn secrets(settings: &mut Settings) -> [Secret<'_>; 4] {
    let Settings {
        mysql,
        kafka,
        registry,
        ..
    } = settings;
    [
        Secret {
            key: SECRET_KEYS[0],
            file_key: "mysql.password_file",
            value: &mut mysql.password,
            file: &mysql.password_file,
        },
        Secret {
            key: SECRET_KEYS[1],
            file_key: "kafka.sasl_password_file",
            value: &mut kafka.sasl_password,
            file: &kafka.sasl_password_file,
        },
        Secret {
            key: SECRET_KEYS[2],
            file_key: "kafka.key_password_file",
            value: &mut kafka.key_password,
            file: &kafka.key_password_file,
        },
        Secret {
            key: SECRET_KEYS[3],
            file_key: "registry.password_file",
            value: &mut registry.password,
            file: &registry.password_file,
        },
    ]
}

/// Reads each secret whose `…_file` is set; the keys of those read, with their files.
pub(super) fn read_secret_files(
    settings: &mut Settings,
) -> Result<Vec<(&'static str, PathBuf)>, SettingsError> {
    let mut read = Vec::new();
    for secret in secrets(settings) {
        if secret.file.is_empty() {
            continue;
        }
        let content = std::fs::read_to_string(secret.file).map_err(|error| {
            unworkable(
                secret.file_key,
                format!("`{}` cannot be read: {error}", secret.file),
            )
        })?;
        *secret.value = without_final_line_break(&content).to_owned();
        read.push((secret.key, PathBuf::from(secret.file)));
    }
    Ok(read)
}

/// `content` less one trailing `\n` or `\r\n` (an editor's or `echo`'s), nothing else.
fn without_final_line_break(content: &str) -> &str {
    content
        .strip_suffix("\r\n")
        .or_else(|| content.strip_suffix('\n'))
        .unwrap_or(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_final_line_break_is_dropped_and_nothing_else() {
        assert_eq!(without_final_line_break("007\n"), "007");
        assert_eq!(without_final_line_break("007\r\n"), "007");
        assert_eq!(without_final_line_break(" a #b=c \n\n"), " a #b=c \n");
        assert_eq!(without_final_line_break("no break"), "no break");
    }

    #[test]
    fn only_relative_paths_set_in_the_file_move_to_its_folder() {
        let mut settings = Settings::default();
        settings.consumer.output_dir = "out/jsonl".into();
        settings.kafka.ca_file = "/etc/ssl/ca.pem".into();
        settings.producer.schema_file = "schemas/product.avsc".into();
        resolve_against_file(&mut settings, Path::new("/etc/sluice/sluice.toml"), |key| {
            key != "producer.schema_file"
        });
        assert_eq!(settings.consumer.output_dir, "/etc/sluice/out/jsonl");
        assert_eq!(settings.kafka.ca_file, "/etc/ssl/ca.pem");
        assert_eq!(settings.producer.schema_file, "schemas/product.avsc");
    }
}
