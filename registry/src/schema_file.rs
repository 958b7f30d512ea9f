//! Avro schemas kept as files (`schemas/*.avsc`), parsed once at start; the shipped product
//! schema is also built into the binaries, for a process whose host holds no schema files.

use std::path::{Path, PathBuf};

use apache_avro::Schema;

/// A schema file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaFileError {
    /// The file cannot be read.
    #[error("cannot read schema file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid Avro schema.
    #[error("schema file {} is not a valid Avro schema: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
}

/// A parsed schema with the text it came from: the text is what gets registered, the parsed
/// form is what encodes and decodes.
#[derive(Debug, Clone)]
pub struct SchemaFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// The parsed schema.
    pub schema: Schema,
}

/// The product schema shipped in `schemas/product.avsc`, as it was when the binary was built.
pub const BUILT_IN_PRODUCT_SCHEMA: &str = include_str!("../../schemas/product.avsc");

/// The path a built-in schema is reported under.
const BUILT_IN_PATH: &str = "(built-in schemas/product.avsc)";

impl SchemaFile {
    /// Reads and parses `path`; an empty path is the built-in product schema.
    pub fn load_or_built_in(path: &str) -> Result<Self, SchemaFileError> {
        if !path.is_empty() {
            return Self::load(path);
        }
        let path = PathBuf::from(BUILT_IN_PATH);
        let schema =
            Schema::parse_str(BUILT_IN_PRODUCT_SCHEMA).map_err(|e| SchemaFileError::Parse {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            path,
            text: BUILT_IN_PRODUCT_SCHEMA.to_owned(),
            schema,
        })
    }

    /// Reads and parses `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SchemaFileError> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|source| SchemaFileError::Read {
            path: path.clone(),
            source,
        })?;
        let schema = Schema::parse_str(&text).map_err(|e| SchemaFileError::Parse {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self { path, text, schema })
    }

    /// The text registered: the file's JSON, compacted, so the same file always gets the same
    /// id whatever its whitespace. Not Avro's parsing canonical form, which drops `default` and
    /// `doc`: without its defaults an evolved schema would look incompatible, and readers
    /// would lose them.
    pub fn registered_text(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.text)
            .map(|value| value.to_string())
            .unwrap_or_else(|_| self.text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_path_is_the_built_in_product_schema() {
        let built_in = SchemaFile::load_or_built_in("").expect("built-in schema parses");
        let shipped = SchemaFile::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/product.avsc"
        ))
        .expect("shipped schema");
        assert_eq!(built_in.schema, shipped.schema);
        assert_eq!(built_in.registered_text(), shipped.registered_text());
    }

    #[test]
    fn product_schema_loads() {
        let file = SchemaFile::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/product.avsc"
        ))
        .expect("loads");
        assert!(file.registered_text().contains("\"name\":\"Product\""));
    }

    #[test]
    fn registered_text_keeps_defaults_and_docs() {
        let file = SchemaFile::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/product.v2.avsc"
        ))
        .expect("loads");
        let text = file.registered_text();
        assert!(text.contains("\"default\":0"), "{text}");
        assert!(text.contains("\"doc\":"), "{text}");
        assert!(!text.contains('\n'), "compact: {text}");
    }

    #[test]
    fn invalid_schema_names_the_file() {
        let dir = std::env::temp_dir().join(format!("sluice-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.avsc");
        std::fs::write(
            &path,
            r#"{"type":"record","name":"X","fields":[{"name":"a"}]}"#,
        )
        .expect("write");
        let err = SchemaFile::load(&path).expect_err("must fail");
        assert!(err.to_string().contains("bad.avsc"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
