//! Replacing a small file so that a crash at any moment leaves either its old content or its
//! new one, never a torn file: the new content goes to a temporary sibling, which is synced,
//! renamed over the file, and the folder synced so the rename itself is durable.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Replaces `path`'s content with `bytes` atomically and durably, creating its folder if
/// needed.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_with(path, |file| file.write_all(bytes))
}

/// [`replace`], the content written by `write` through a buffer: a large file is never held in
/// memory whole.
pub fn replace_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let folder = folder_of(path);
    fs::create_dir_all(&folder)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = std::io::BufWriter::with_capacity(1 << 16, File::create(&temporary)?);
    write(&mut file)?;
    let file = file
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    File::open(&folder)?.sync_all()
}

/// Syncs the folder holding `path`, so that the file's name (its creation, rename or removal)
/// survives a crash, not only its content.
pub fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    File::open(folder_of(path))?.sync_all()
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_content_replaces_the_old_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("nested/state.bin");
        replace(&path, b"first").expect("write");
        replace(&path, b"second").expect("replace");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        let names: Vec<_> = fs::read_dir(dir.path().join("nested"))
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.bin")]);
    }
}
