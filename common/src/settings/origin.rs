//! Where each setting's value came from (its default, the file, a variable, `--set`), so a
//! process can say what it runs with (`config`) and a relative path set in the file can be
//! taken relative to that file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The layer a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Nothing set it.
    Default,
    /// The configuration file.
    File(PathBuf),
    /// This environment variable.
    Environment(String),
    /// A `--set` flag.
    Flag,
    /// Read from this file, named by the secret's `…_file` setting.
    SecretFile(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Environment(variable) => write!(f, "environment {variable}"),
            Self::Flag => f.write_str("--set"),
            Self::SecretFile(path) => write!(f, "read from {}", path.display()),
        }
    }
}

/// The origin of every setting that was set; any other has its default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    file: Option<PathBuf>,
    set: BTreeMap<String, Origin>,
}

impl Provenance {
    /// Nothing set yet, the file `file` read (if any).
    pub(super) fn new(file: Option<PathBuf>) -> Self {
        Self {
            file,
            set: BTreeMap::new(),
        }
    }

    /// `key` was set by `origin`.
    pub(super) fn record(&mut self, key: String, origin: Origin) {
        self.set.insert(key, origin);
    }

    /// The configuration file read, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Where `key` (dotted, e.g. `mysql.password`) came from. A key inside a table that was set
    /// as a whole (`transform.steps`) has the table's origin.
    pub fn of(&self, key: &str) -> Origin {
        if let Some(origin) = self.set.get(key) {
            return origin.clone();
        }
        self.set
            .iter()
            .find(|(set, _)| key.starts_with(&format!("{set}.")))
            .map(|(_, origin)| origin.clone())
            .unwrap_or(Origin::Default)
    }

    /// Whether `key` came from the configuration file.
    pub fn from_file(&self, key: &str) -> bool {
        matches!(self.of(key), Origin::File(_))
    }
}

impl Provenance {
    /// One line for the start log: the file read and how many settings the environment and
    /// `--set` gave.
    pub fn summary(&self) -> String {
        let count = |wanted: fn(&Origin) -> bool| self.set.values().filter(|o| wanted(o)).count();
        let environment = count(|origin| matches!(origin, Origin::Environment(_)));
        let flags = count(|origin| matches!(origin, Origin::Flag));
        let file = match &self.file {
            Some(file) => format!("configuration file {}", file.display()),
            None => "no configuration file (defaults)".to_owned(),
        };
        format!("{file}; {environment} settings from the environment, {flags} from --set")
    }
}
