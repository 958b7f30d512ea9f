//! One process per member and output folder.
//!
//! Invariant: **while a member runs, no other process runs as the same member over the same
//! output folder.** Two would append to one file and settle one batch file, each against the
//! other's offsets. A member holds an exclusive lock on `<output_dir>/<member>.lock` for its
//! whole life; the kernel releases it when the process ends, however it ends (`kill -9`
//! included), so a member started again after a crash is never refused by a stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The lock, held until dropped.
#[derive(Debug)]
pub struct MemberLock {
    _file: File,
}

/// Why the member could not take its lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process runs as this member over this folder.
    #[error(
        "{member} is already running over {folder} (process {holder}, per {lock}): two processes \
         would write one file; stop it first, or give this one another --member or \
         consumer.output_dir"
    )]
    Held {
        /// The member.
        member: String,
        /// The output folder.
        folder: String,
        /// The lock file.
        lock: String,
        /// The process id the lock file names, as written.
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {lock}: {source}")]
    Io {
        /// The lock file.
        lock: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

impl MemberLock {
    /// Takes the lock of `member` in `folder` (created if needed), and writes this process's id
    /// into it for the message another process would give.
    pub fn acquire(folder: &Path, member: &str) -> Result<Self, LockError> {
        let path = folder.join(format!("{member}.lock"));
        let io = |source| LockError::Io {
            lock: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(folder).map_err(io)?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(LockError::Held {
                    member: member.to_owned(),
                    folder: folder.display().to_string(),
                    lock: path.display().to_string(),
                    holder: holder.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

/// Whether `member`'s lock in `folder` is free now, without taking it for more than an
/// instant and without writing anything: `Err(LockError::Held)` naming the process that holds
/// it. A folder or lock file that does not exist yet is free.
pub fn probe(folder: &Path, member: &str) -> Result<(), LockError> {
    let path = folder.join(format!("{member}.lock"));
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LockError::Io {
                lock: path.display().to_string(),
                source,
            })
        }
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(LockError::Held {
                member: member.to_owned(),
                folder: folder.display().to_string(),
                lock: path.display().to_string(),
                holder: holder.trim().to_owned(),
            })
        }
        Err(TryLockError::Error(source)) => Err(LockError::Io {
            lock: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_process_as_the_same_member_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().expect("dir");
        let first = MemberLock::acquire(dir.path(), "consumer-1").expect("first");
        let refused = MemberLock::acquire(dir.path(), "consumer-1").expect_err("held");
        let message = refused.to_string();
        assert!(
            message.contains("consumer-1 is already running")
                && message.contains(&std::process::id().to_string()),
            "{message}"
        );
        MemberLock::acquire(dir.path(), "consumer-2").expect("another member is free");
        let held = probe(dir.path(), "consumer-1").expect_err("a probe sees it held");
        assert!(held.to_string().contains("already running"), "{held}");
        drop(first);
        probe(dir.path(), "consumer-1").expect("a probe sees it free");
        MemberLock::acquire(dir.path(), "consumer-1").expect("free once the first is gone");
    }
}
