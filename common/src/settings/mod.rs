//! The typed configuration, layered from `sluice.toml`, then `SLUICE__SECTION__KEY` environment
//! variables, then `--set section.key=value` flags.
//!
//! Every section rejects keys it does not know, so a typo is an error at start instead of a
//! setting silently ignored. Defaults point at the local stack that `make up` starts.

mod choices;
mod cli;
mod command;
mod error;
mod explain;
mod files;
mod isolated;
mod load;
mod origin;
mod properties;
mod retired;
mod sections;
mod security;
mod servers;
mod transform;
mod validate;

pub use choices::{
    ChangeSource, Choice, CompatibilityLevel, Compression, GroupProtocol, MysqlTlsMode, OnError,
    ReaderSchemaSource, SaslMechanism, SecurityProtocol, TransformOp, WriterSchemaSource,
};
pub use cli::{AsJson, ConfigArgs, SharedArgs};
pub use command::{settings_for, CommandError, CommandKind};
pub use error::SettingsError;
pub use explain::{config_text, explain, render, ExplainedSetting};
pub use files::SECRET_KEYS;
pub use isolated::IsolatedRun;
pub use load::{load, load_explained, Layers, Loaded};
pub use origin::{Origin, Provenance};
pub use properties::ClientProperties;
pub use sections::{ConsumerSettings, MetricsSettings, ProducerSettings, Settings};
pub use servers::{KafkaSettings, MysqlSettings, RegistrySettings};
pub use transform::{FieldEquals, TransformSettings, TransformStep, TransformStepSettings};
