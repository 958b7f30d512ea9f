//! Reading the output folder: every `*.jsonl` file and open segment `*.jsonl.part`, line by
//! line, into a compact list of versions (product, timestamp, where the line is, a hash of its
//! bytes) and the torn lines.
//! Only the key and the timestamp are kept per line, so ten million lines fit in a few hundred
//! megabytes; the latest line of each product is read again from its file when it is judged.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde::Deserialize;
use sluice_common::deletes::{DELETED_AT_FIELD, DELETED_FIELD};

use crate::key_order::KeyOrder;
use crate::line_hash::{hash_of, LinesDigest};

/// One line that parsed: a version of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// The product's key, as `key_order` numbers it.
    pub id: i64,
    /// Its timestamp, in microseconds since the epoch.
    pub at: i64,
    /// A hash of the line's bytes: equal lines hash equal.
    pub hash: u64,
    /// Index of its file in [`Scan::files`].
    pub file: u32,
    /// The member's output its file belongs to: its one file, or its segments in order (files
    /// of one stream sort in the order they were written).
    pub stream: u32,
    /// Byte offset of the line in its file.
    pub offset: u64,
    /// Length of the line, its newline left out.
    pub len: u32,
    /// A delete line (its time is when the product was deleted).
    pub deleted: bool,
}

/// A line that is not a whole JSON line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Torn {
    /// The file.
    pub file: PathBuf,
    /// Its line number, from 1.
    pub line: u64,
    /// Why it is torn.
    pub reason: String,
}

/// Everything read from the output folder.
#[derive(Debug, Default)]
pub struct Scan {
    /// The files read, in name order.
    pub files: Vec<PathBuf>,
    /// Every version, in file order then line order.
    pub versions: Vec<Version>,
    /// Lines that did not parse, and files ending mid-line.
    pub torn: Vec<Torn>,
    /// Lines read, torn ones included.
    pub lines: u64,
    /// Members' outputs read (a member's segments are one).
    pub streams: u32,
    /// Each file's whole lines as scanned, to tell whether it changed since.
    pub digests: Vec<LinesDigest>,
    /// Each file as it was opened when it was listed, for reading lines back.
    handles: Vec<File>,
}

/// The fields every line must hold (a delete line its `deleted_at` instead of the
/// timestamp), the rest checked as valid JSON only.
#[derive(Deserialize)]
struct Identity<'a> {
    id: serde_json::Value,
    #[serde(borrow, default)]
    last_updated: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    deleted: bool,
    #[serde(borrow, default)]
    deleted_at: Option<std::borrow::Cow<'a, str>>,
}

/// An output folder that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the output folder {}", folder.display())]
pub struct ScanError {
    /// The folder.
    pub folder: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

/// The member whose output `path` is: `<member>.jsonl`, a closed segment
/// `<member>.<sequence>.jsonl`, or the open one `<member>.jsonl.part`; `None` for other files.
fn member_of(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".jsonl.part")
        .or_else(|| name.strip_suffix(".jsonl"))?;
    Some(match stem.rsplit_once('.') {
        Some((member, sequence))
            if sequence.len() >= 8 && sequence.bytes().all(|b| b.is_ascii_digit()) =>
        {
            member
        }
        _ => stem,
    })
}

/// Where a file's versions come from.
#[derive(Debug, Clone, Copy)]
struct FileAt {
    file: u32,
    stream: u32,
}

/// How many times a folder is listed again when a file listed is gone before it is opened (a
/// member closing its open segment renames it meanwhile).
const LISTINGS: usize = 5;

/// Reads every `*.jsonl` file (and open segment `*.jsonl.part`) of each of `folders` (members
/// on several hosts write to several folders); `key` and `timestamp` name the fields to read.
/// Each file is read from the handle opened when it was listed, which `LineReader` reads
/// back from too: a segment closed (renamed) meanwhile is still the file that was scanned.
/// Keys are numbered by `keys`, and ranked once every file is read (see `key_order`).
pub fn scan(
    folders: &[PathBuf],
    key: &str,
    timestamp: &str,
    keys: &mut KeyOrder,
) -> Result<Scan, ScanError> {
    let mut scan = Scan::default();
    for folder in folders {
        let failed = |source| ScanError {
            folder: folder.clone(),
            source,
        };
        let opened = open_members_files(folder).map_err(failed)?;
        let mut streams: Vec<String> = Vec::new();
        for (path, file) in opened {
            let index =
                u32::try_from(scan.files.len()).map_err(|e| failed(std::io::Error::other(e)))?;
            let member = member_of(&path).unwrap_or_default().to_owned();
            if streams.last() != Some(&member) {
                streams.push(member);
                scan.streams += 1;
            }
            let at = FileAt {
                file: index,
                stream: scan.streams,
            };
            let reading = file.try_clone().map_err(failed)?;
            let fields = Fields {
                key,
                timestamp,
                keys: &mut *keys,
            };
            let digest = scan_file(&path, reading, at, fields, &mut scan).map_err(failed)?;
            scan.files.push(path);
            scan.digests.push(digest);
            scan.handles.push(file);
        }
    }
    keys.rank(scan.versions.iter_mut().map(|version| &mut version.id));
    Ok(scan)
}

impl Scan {
    /// File `index` as it was opened when it was listed (a segment renamed since is still it),
    /// read from its start; `NotFound` for an index the scan never listed.
    pub fn reopen(&self, index: usize) -> std::io::Result<File> {
        use std::io::{Error, ErrorKind, Seek, SeekFrom};
        let listed = self.opened(index).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("the scan listed no file {index}"),
            )
        })?;
        let mut file = listed.try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    }

    /// File `index` as it was opened when it was listed, for reads at an offset.
    pub fn opened(&self, index: usize) -> Option<&File> {
        self.handles.get(index)
    }
}

/// Whether each of `folders` can be listed: checked before anything else is read, so a wrong
/// folder is named first.
pub fn readable(folders: &[PathBuf]) -> Result<(), ScanError> {
    for folder in folders {
        std::fs::read_dir(folder).map_err(|source| ScanError {
            folder: folder.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The members' files of `folder`, in name order, each opened; listed again when one is gone
/// before it is opened.
fn open_members_files(folder: &Path) -> std::io::Result<Vec<(PathBuf, File)>> {
    let mut listing = 0;
    'list: loop {
        listing += 1;
        let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| member_of(path).is_some())
            .collect();
        paths.sort();
        let mut opened = Vec::with_capacity(paths.len());
        for path in paths {
            match File::open(&path) {
                Ok(file) => opened.push((path, file)),
                Err(error)
                    if error.kind() == std::io::ErrorKind::NotFound && listing < LISTINGS =>
                {
                    continue 'list
                }
                Err(error) => return Err(error),
            }
        }
        return Ok(opened);
    }
}

/// The fields every line is read for, and the order its key is numbered in.
struct Fields<'a> {
    key: &'a str,
    timestamp: &'a str,
    keys: &'a mut KeyOrder,
}

fn scan_file(
    path: &Path,
    file: File,
    place: FileAt,
    mut fields: Fields<'_>,
    scan: &mut Scan,
) -> std::io::Result<LinesDigest> {
    let mut digest = LinesDigest::default();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(512);
    let mut offset = 0_u64;
    let mut number = 0_u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(digest);
        }
        number += 1;
        scan.lines += 1;
        let torn = |reason: String| Torn {
            file: path.to_path_buf(),
            line: number,
            reason,
        };
        if line.last() != Some(&b'\n') {
            scan.torn.push(torn(format!(
                "the file ends mid-line ({read} bytes without a newline)"
            )));
            return Ok(digest);
        }
        let body = &line[..line.len() - 1];
        let hash = hash_of(body);
        digest.add(hash, read);
        match identity(body, &mut fields) {
            Ok((id, at, deleted)) => scan.versions.push(Version {
                id,
                at,
                deleted,
                hash,
                file: place.file,
                stream: place.stream,
                offset,
                len: u32::try_from(body.len()).map_err(std::io::Error::other)?,
            }),
            Err(reason) => scan.torn.push(torn(reason)),
        }
        offset += read as u64;
    }
}

/// The key, the time (a delete line's `deleted_at`) and whether it is a delete line, of one
/// line; or why it is not a line.
fn identity(body: &[u8], names: &mut Fields<'_>) -> Result<(i64, i64, bool), String> {
    let (key, timestamp) = (names.key, names.timestamp);
    if key == "id" && timestamp == "last_updated" {
        let fields: Identity<'_> =
            serde_json::from_slice(body).map_err(|e| format!("not a JSON line: {e}"))?;
        let (at, name) = match fields.deleted {
            true => (fields.deleted_at, DELETED_AT_FIELD),
            false => (fields.last_updated, timestamp),
        };
        let at = at.ok_or(format!("no `{name}` text field"))?;
        return Ok((
            names.keys.line_key(&fields.id)?,
            micros_of(&at)?,
            fields.deleted,
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON line: {e}"))?;
    let id = value.get(key).ok_or(format!("no `{key}` field"))?;
    let deleted = value.get(DELETED_FIELD) == Some(&serde_json::Value::Bool(true));
    let name = if deleted { DELETED_AT_FIELD } else { timestamp };
    let at = value
        .get(name)
        .and_then(serde_json::Value::as_str)
        .ok_or(format!("no `{name}` text field"))?;
    Ok((names.keys.line_key(id)?, micros_of(at)?, deleted))
}

/// An RFC 3339 time in microseconds since the epoch; one without a zone (a `DATETIME` as a
/// `local-timestamp-*` field shows it) is taken as UTC, as the producer's watermark takes it.
pub fn micros_of(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.timestamp_micros())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|at| at.and_utc().timestamp_micros())
        })
        .map_err(|e| format!("the timestamp `{text}` is not RFC 3339: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_back::LineReader;

    fn scan_signed(folders: &[PathBuf], key: &str, timestamp: &str) -> Result<Scan, ScanError> {
        let mut keys = KeyOrder::new(crate::key_order::KeyType::Signed);
        scan(folders, key, timestamp, &mut keys)
    }

    #[test]
    fn versions_torn_lines_and_a_partial_tail_are_told_apart() {
        let dir = tempfile::tempdir().expect("dir");
        let first = "{\"id\":1,\"name\":\"a\",\"last_updated\":\"2026-12-01T10:00:00.000001Z\"}\n";
        let broken = "{\"id\":2,\"name\":\n";
        let second = "{\"id\":2,\"last_updated\":\"2026-12-01T10:00:01.000000Z\"}\n";
        std::fs::write(
            dir.path().join("consumer-1.jsonl"),
            format!("{first}{broken}{second}{{\"id\":3,\"la"),
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a member file").expect("write");
        let scan = scan_signed(&[dir.path().to_path_buf()], "id", "last_updated").expect("scan");
        assert_eq!(scan.lines, 4);
        assert_eq!(
            scan.versions
                .iter()
                .map(|v| (v.id, v.at))
                .collect::<Vec<_>>(),
            [(1, 1_796_119_200_000_001), (2, 1_796_119_201_000_000)]
        );
        assert_eq!(scan.torn.iter().map(|t| t.line).collect::<Vec<_>>(), [2, 4]);
        assert!(scan.torn[1].reason.contains("mid-line"), "{:?}", scan.torn);
        let line = LineReader::of(&scan)
            .read(&scan.versions[1])
            .expect("read back");
        assert_eq!(line["id"], 2);
    }

    #[test]
    fn a_members_segments_and_open_segment_are_one_stream_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let line = |id: i64, second: u32| {
            format!("{{\"id\":{id},\"last_updated\":\"2026-12-01T10:00:0{second}.000000Z\"}}\n")
        };
        for (name, text) in [
            ("consumer-1.00000002.jsonl", line(1, 2)),
            ("consumer-1.jsonl.part", line(1, 3)),
            ("consumer-1.00000001.jsonl", line(1, 1)),
            ("consumer-2.jsonl", line(2, 1)),
            ("consumer-1.pending", "{}\n".to_owned()),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let scan = scan_signed(&[dir.path().to_path_buf()], "id", "last_updated").expect("scan");
        let names: Vec<String> = scan
            .files
            .iter()
            .filter_map(|path| path.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert_eq!(
            names,
            [
                "consumer-1.00000001.jsonl",
                "consumer-1.00000002.jsonl",
                "consumer-1.jsonl.part",
                "consumer-2.jsonl"
            ]
        );
        let streams: Vec<(i64, u32)> = scan.versions.iter().map(|v| (v.id, v.stream)).collect();
        assert_eq!(streams, [(1, 1), (1, 1), (1, 1), (2, 2)]);
        assert_eq!(
            member_of(Path::new("m.1.jsonl")),
            Some("m.1"),
            "not a sequence"
        );
    }

    #[test]
    fn a_delete_line_is_timed_by_its_deleted_at() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("consumer-1.jsonl"),
            "{\"id\":4,\"deleted\":true,\"deleted_at\":\"2026-12-01T10:00:00.000002Z\"}\n\
             {\"id\":5,\"deleted\":true}\n",
        )
        .expect("write");
        for (key, timestamp) in [("id", "last_updated"), ("id", "changed")] {
            let scan = scan_signed(&[dir.path().to_path_buf()], key, timestamp).expect("scan");
            assert_eq!(
                scan.versions
                    .iter()
                    .map(|v| (v.id, v.at, v.deleted))
                    .collect::<Vec<_>>(),
                [(4, 1_796_119_200_000_002, true)]
            );
            assert_eq!(scan.torn.len(), 1, "a delete line without its time");
            assert!(
                scan.torn[0].reason.contains("deleted_at"),
                "{:?}",
                scan.torn
            );
        }
    }

    #[test]
    fn other_key_and_timestamp_fields_are_read_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("m.jsonl"),
            "{\"sku\":9,\"changed\":\"2026-12-01T10:00:00Z\"}\n{\"sku\":\"x\",\"changed\":\"2026-12-01T10:00:00Z\"}\n",
        )
        .expect("write");
        let scan = scan_signed(&[dir.path().to_path_buf()], "sku", "changed").expect("scan");
        assert_eq!(scan.versions.len(), 1);
        assert_eq!(scan.torn.len(), 1);
        assert!(scan.torn[0].reason.contains("not an integer"));
    }

    #[test]
    fn the_folders_of_several_hosts_are_read_together() {
        let (host_a, host_b) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let line = |id: i32| format!("{{\"id\":{id},\"last_updated\":\"2026-12-01T10:00:00Z\"}}\n");
        // The same member name on two hosts: two files, both read.
        std::fs::write(host_a.path().join("consumer-1.jsonl"), line(1)).expect("write");
        std::fs::write(host_b.path().join("consumer-1.jsonl"), line(2)).expect("write");
        std::fs::write(host_b.path().join("consumer-2.jsonl"), line(3)).expect("write");
        let folders = [host_a.path().to_path_buf(), host_b.path().to_path_buf()];
        let both = scan_signed(&folders, "id", "last_updated").expect("scan");
        assert_eq!(both.files.len(), 3);
        let ids: Vec<i64> = both.versions.iter().map(|v| v.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let mut reader = LineReader::of(&both);
        assert_eq!(reader.read(&both.versions[2]).expect("read back")["id"], 3);
        let mut third = String::new();
        std::io::Read::read_to_string(&mut both.reopen(2).expect("listed"), &mut third)
            .expect("read");
        assert_eq!(third, line(3));
        let unlisted = both.reopen(3).expect_err("three files listed");
        assert_eq!(unlisted.kind(), std::io::ErrorKind::NotFound);
        let missing = host_a.path().join("gone");
        let error = scan_signed(std::slice::from_ref(&missing), "id", "last_updated")
            .expect_err("no folder");
        assert_eq!(error.folder, missing);
    }
}
