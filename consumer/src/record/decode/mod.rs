//! Records from Kafka to Avro values of the reader schema.
//!
//! Each record names its writer schema by id (Confluent wire format). The writer schema is
//! fetched from the registry the first time an id is seen, and a datum reader that resolves
//! writer into reader is built once per id and reused, so producers and consumers can move
//! to new schema versions independently without per-record schema work.
//!
//! The reader schema is a file's, pinned, or follows the subject's latest version: each time a
//! record brings a writer id not seen before, the subject's latest version is asked for, and
//! when it is another schema than the reader's, it becomes the reader (the readers built for
//! the old one are dropped). A producer registers its schema before it writes a record under
//! it, so the latest version is never older than the record being read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::Schema;
use sluice_common::events::ErrorKind;
use sluice_common::retry::{self, Policy};
use sluice_registry::{RegistryClient, RegistryError, SchemaId, WireFormat};
use tokio::runtime::Handle;

/// A registry that restarts answers "not found" for known ids while it replays its storage (for
/// a while after its Kafka storage restarted, too). When the member has read no schema yet, it
/// asks for the topic's own subject, which the producer registered: once that is served, the
/// registry is loaded. Without that subject either, an unknown id is believed after this long.
const NOT_FOUND_PATIENCE: Duration = Duration::from_secs(120);
/// A schema the registry cannot serve yet is asked for again every half second.
const FETCH_POLICY: Policy = Policy::steady(Duration::from_millis(500));
/// An id the registry said it does not know is dead-lettered at once for this long, then asked
/// about again (once, without waiting).
const UNKNOWN_RECHECK: Duration = Duration::from_secs(60);

/// What asking the registry for a schema the member has read before says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// The member has read no schema yet, and the registry does not serve the topic's subject.
    SubjectMissing,
    /// The member has read no schema yet, and the registry serves the topic's subject: it is
    /// up and its storage is loaded.
    SubjectServed,
    /// The registry serves a schema it has: it is up and its storage is loaded.
    KnownIdServed,
    /// The registry does not serve a schema it served before: it is replaying its storage.
    KnownIdMissing,
    /// The registry did not answer.
    Unreachable,
}

/// Whether a "not found" for an id is to be believed, after `waited` of asking.
fn believe_not_found(probe: Probe, waited: Duration) -> bool {
    match probe {
        Probe::KnownIdServed | Probe::SubjectServed => true,
        Probe::KnownIdMissing | Probe::Unreachable => false,
        Probe::SubjectMissing => waited >= NOT_FOUND_PATIENCE,
    }
}

/// Why a record could not be decoded; it goes to the dead-letter topic with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Where the reader schema comes from.
#[derive(Debug, Clone)]
pub enum ReaderSchema {
    /// This schema, always.
    Pinned(Schema),
    /// The subject's latest version, followed.
    Latest,
}

/// Where the decoder's reader schema stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A file's, for good.
    Pinned,
    /// The subject's latest version: the registry's id of the one in use, `None` before the
    /// first is read.
    Following(Option<SchemaId>),
}

/// Decodes records into the reader schema, caching one resolving reader per writer schema id.
pub struct Decoder {
    registry: RegistryClient,
    runtime: Handle,
    /// The topic's value subject, which the producer registers its schema under.
    subject: String,
    /// The schema records are resolved into; `None` while following and nothing is read yet.
    reader_schema: Option<&'static Schema>,
    /// Whether the reader schema is pinned or followed.
    source: Source,
    /// Each writer id's schema and the reader that resolves it into the reader schema.
    readers: HashMap<SchemaId, (&'static Schema, GenericDatumReader<'static>)>,
    /// Ids the registry does not know, and since when that is believed.
    unknown: HashMap<SchemaId, Instant>,
}

impl Decoder {
    /// A decoder resolving into `reader_schema`. Schemas live as long as the process (one per
    /// schema id ever seen), so they are kept rather than re-parsed.
    pub fn new(
        registry: RegistryClient,
        runtime: Handle,
        reader_schema: ReaderSchema,
        subject: &str,
    ) -> Self {
        let (reader_schema, source) = match reader_schema {
            ReaderSchema::Pinned(schema) => (Some(&*Box::leak(Box::new(schema))), Source::Pinned),
            ReaderSchema::Latest => (None, Source::Following(None)),
        };
        Self {
            registry,
            runtime,
            subject: subject.to_owned(),
            reader_schema,
            source,
            readers: HashMap::new(),
            unknown: HashMap::new(),
        }
    }

    /// The schema the last record was resolved into: the one its value follows.
    pub fn reader_schema(&self) -> &'static Schema {
        self.reader_schema.unwrap_or(&Schema::Null)
    }

    /// The reader schema, for a tombstone's key: while following and before any record, the
    /// subject's latest version is read first.
    pub fn reader_schema_for_keys(&mut self) -> &'static Schema {
        if self.reader_schema.is_none() && matches!(self.source, Source::Following(_)) {
            self.follow_latest();
        }
        self.reader_schema()
    }

    /// The record's value in the reader schema. Blocks while the registry is unreachable:
    /// a record is never dead-lettered because a server was briefly down.
    pub fn decode(&mut self, payload: Option<&[u8]>) -> Result<Value, DecodeError> {
        let (id, _, datum) = self.writer_of(payload)?;
        self.decode_datum(id, datum)
    }

    /// The Avro `datum` of a record written with schema `id`, which [`Decoder::writer_of`]
    /// has seen, read into the reader schema.
    pub fn decode_datum(&self, id: SchemaId, datum: &[u8]) -> Result<Value, DecodeError> {
        let (_, reader) = self
            .readers
            .get(&id)
            .ok_or_else(|| DecodeError(format!("no reader for schema id {id}")))?;
        let mut rest = datum;
        let value = reader.read_value(&mut rest).map_err(|e| {
            DecodeError(format!(
                "Avro datum does not match writer schema id {id}: {e}"
            ))
        })?;
        if !rest.is_empty() {
            return Err(DecodeError(format!(
                "{} bytes left over after the Avro datum of schema id {id}",
                rest.len()
            )));
        }
        Ok(value)
    }

    /// The record's writer schema id, the schema, and its Avro datum; the schema is fetched
    /// (and the reader schema followed) the first time its id is seen, as [`Decoder::decode`]
    /// does, after which the reader schema is the one the record is read as.
    pub fn writer_of<'p>(
        &mut self,
        payload: Option<&'p [u8]>,
    ) -> Result<(SchemaId, &'static Schema, &'p [u8]), DecodeError> {
        let Some(payload) = payload else {
            return Err(DecodeError("record has no value (tombstone)".into()));
        };
        let (id, datum) =
            WireFormat::split(payload).map_err(|error| DecodeError(error.to_string()))?;
        if let Some((writer, _)) = self.readers.get(&id) {
            return Ok((id, writer, datum));
        }
        if matches!(self.source, Source::Following(_)) {
            self.follow_latest();
        }
        let (writer, reader) = self.reader_for(id)?;
        self.unknown.remove(&id);
        self.readers.insert(id, (writer, reader));
        Ok((id, writer, datum))
    }

    fn reader_for(
        &mut self,
        id: SchemaId,
    ) -> Result<(&'static Schema, GenericDatumReader<'static>), DecodeError> {
        let text = self.fetch_writer_schema(id)?;
        let writer = Schema::parse_str(&text)
            .map_err(|e| DecodeError(format!("writer schema id {id} is not valid Avro: {e}")))?;
        let writer: &'static Schema = Box::leak(Box::new(writer));
        // Following, with no version of the subject to be had: the writer is its own reader.
        let reader_schema = *self.reader_schema.get_or_insert(writer);
        tracing::info!(
            schema_id = %id,
            "resolving writer schema id {id} into the reader schema"
        );
        let reader = resolving_reader(writer, reader_schema).map_err(|e| {
            DecodeError(format!(
                "writer schema id {id} cannot be read with the reader schema: {e}"
            ))
        })?;
        Ok((writer, reader))
    }

    /// The writer schema of `id`. An id the registry does not know is believed unknown as soon
    /// as the registry serves a schema the member read before (or, before any, after
    /// `NOT_FOUND_PATIENCE`), then dead-lettered at once for `UNKNOWN_RECHECK`: a producer
    /// writing thousands of records under a wrong id stalls no member.
    fn fetch_writer_schema(&mut self, id: SchemaId) -> Result<String, DecodeError> {
        let unknown = || DecodeError(format!("schema id {id} is not in the registry"));
        if let Some(since) = self.unknown.get(&id) {
            if since.elapsed() < UNKNOWN_RECHECK {
                return Err(unknown());
            }
        }
        let started = Instant::now();
        let recheck = self.unknown.contains_key(&id);
        let what = format!("the schema registry to serve schema id {id}");
        let fetched = retry::retry_blocking(
            FETCH_POLICY,
            ErrorKind::Registry,
            &what,
            || match self.runtime.block_on(self.registry.schema_by_id(id)) {
                Ok(text) => Ok(text),
                Err(RegistryError::NotFound { .. }) => {
                    let probe = self.probe_known_id();
                    if recheck || believe_not_found(probe, started.elapsed()) {
                        Err(Fetch::Unknown)
                    } else {
                        Err(Fetch::Loading(probe))
                    }
                }
                Err(error) => Err(Fetch::Unreachable(error)),
            },
            |failure| !matches!(failure, Fetch::Unknown),
        );
        // `FETCH_POLICY` never runs out of tries: the only failure that ends them is an id
        // believed unknown.
        fetched.map_err(|_| {
            self.unknown.insert(id, Instant::now());
            unknown()
        })
    }

    /// Makes the subject's latest version the reader schema when it is not already. A registry
    /// that does not answer is waited for as for a writer schema; a subject it does not serve
    /// (yet) leaves the reader as it is.
    fn follow_latest(&mut self) {
        let what = format!(
            "the schema registry to serve the latest version of {}",
            self.subject
        );
        let latest = retry::retry_blocking(
            FETCH_POLICY,
            ErrorKind::Registry,
            &what,
            || match self
                .runtime
                .block_on(self.registry.version(&self.subject, None))
            {
                Ok(version) => Ok(Some(version)),
                Err(RegistryError::NotFound { .. }) => Ok(None),
                Err(error) => Err(error),
            },
            |_| true,
        );
        let Ok(Some(latest)) = latest else {
            return;
        };
        if self.source == Source::Following(Some(latest.id)) {
            return;
        }
        match Schema::parse_str(&latest.schema) {
            Ok(schema) => {
                tracing::info!(
                    subject = %self.subject,
                    version = latest.version,
                    schema_id = %latest.id,
                    "reading into version {} of {} (schema id {}), the latest",
                    latest.version,
                    self.subject,
                    latest.id
                );
                self.reader_schema = Some(Box::leak(Box::new(schema)));
                self.source = Source::Following(Some(latest.id));
                self.readers.clear();
            }
            Err(error) => tracing::warn!(
                subject = %self.subject,
                "the latest version of {} is not valid Avro, kept the reader schema: {error}",
                self.subject
            ),
        }
    }

    /// Asks the registry again for a schema the member has read before, or else for the
    /// topic's subject.
    fn probe_known_id(&self) -> Probe {
        let Some(known) = self.readers.keys().next().copied() else {
            return match self.runtime.block_on(self.registry.versions(&self.subject)) {
                Ok(versions) if !versions.is_empty() => Probe::SubjectServed,
                Ok(_) | Err(RegistryError::NotFound { .. }) => Probe::SubjectMissing,
                Err(_) => Probe::Unreachable,
            };
        };
        match self
            .runtime
            .block_on(self.registry.schema_by_id_uncached(known))
        {
            Ok(_) => Probe::KnownIdServed,
            Err(RegistryError::NotFound { .. }) => Probe::KnownIdMissing,
            Err(_) => Probe::Unreachable,
        }
    }
}

/// Why a writer schema was not fetched.
enum Fetch {
    /// The registry does not know the id, and is believed.
    Unknown,
    /// The registry said "not found" while it may still be loading its storage.
    Loading(Probe),
    /// The registry did not answer.
    Unreachable(RegistryError),
}

impl std::fmt::Display for Fetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fetch::Unknown => f.write_str("not in the registry"),
            Fetch::Loading(probe) => write!(
                f,
                "not found, while the registry {}",
                match probe {
                    Probe::KnownIdMissing =>
                        "does not serve schemas it served before (restarting?)",
                    Probe::SubjectMissing => "does not serve the topic's subject yet (restarting?)",
                    Probe::Unreachable => "does not answer",
                    Probe::KnownIdServed | Probe::SubjectServed =>
                        "may still be loading its storage",
                }
            ),
            Fetch::Unreachable(error) => error.fmt(f),
        }
    }
}

/// A reader of `writer`'s data as `reader` values. When both have the same Parsing Canonical
/// Form the data already is the reader's: decoding skips resolution, which builds a map of the
/// fields for every record and was a large share of the consumer's time.
pub(crate) fn resolving_reader(
    writer: &'static Schema,
    reader: &'static Schema,
) -> Result<GenericDatumReader<'static>, apache_avro::Error> {
    if writer.canonical_form() == reader.canonical_form() {
        GenericDatumReader::builder(writer).build()
    } else {
        GenericDatumReader::builder(writer)
            .reader_schema(reader)
            .build()
    }
}

#[cfg(test)]
pub(crate) mod tests;
