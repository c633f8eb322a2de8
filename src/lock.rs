//! One writer per output folder: an exclusive OS file lock on `fleetsim.lock`, held for the life
//! of the process that writes the folder (a campaign, its resume, a merge's output).
//!
//! The lock is the kernel's (`flock` on Unix), so it is released when the process ends however
//! it ends, and a second process is refused at once instead of racing the first. The file stays
//! behind and holds the process id of its last holder, which a refused process names.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file in an output folder.
pub const LOCK_FILE: &str = "fleetsim.lock";

/// Reads of a held lock file while its holder has not yet written its process id.
const HOLDER_READ_ATTEMPTS_MAX: u32 = 50;
/// Pause between two such reads.
const HOLDER_READ_PAUSE: Duration = Duration::from_millis(10);

/// An exclusive hold on an output folder; released when dropped or when the process ends.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
    path: PathBuf,
}

impl FolderLock {
    /// Creates `folder` if needed and takes its lock; refuses when another process holds it.
    pub fn create_and_acquire(folder: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        Self::acquire(folder)
    }

    /// Takes the lock of a folder that must already exist (a campaign to resume).
    pub fn acquire_existing(folder: &Path) -> Result<Self, String> {
        if !folder.is_dir() {
            return Err(format!("cannot resume: {} is not a folder holding a campaign", folder.display()));
        }
        Self::acquire(folder)
    }

    fn acquire(folder: &Path) -> Result<Self, String> {
        let path = folder.join(LOCK_FILE);
        let cannot = |error: std::io::Error| format!("cannot lock {}: {error}", path.display());
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "{} is in use by another process: {}; wait for it to end or choose another folder",
                    folder.display(),
                    holder(&mut file)
                ))
            }
            Err(TryLockError::Error(error)) => return Err(cannot(error)),
        }
        file.set_len(0).map_err(cannot)?;
        let program = std::env::args().next().unwrap_or_default();
        let program = Path::new(&program).file_name().map(|name| name.to_string_lossy().into_owned());
        writeln!(file, "pid {} ({})", std::process::id(), program.unwrap_or_default()).map_err(cannot)?;
        Ok(Self { _file: file, path })
    }

    /// A shared hold on a folder to read (a shard to merge), so no campaign writes it meanwhile;
    /// refuses while one does. A folder without a lock file has no writer to wait for: `None`.
    pub fn hold_to_read(folder: &Path) -> Result<Option<Self>, String> {
        let path = folder.join(LOCK_FILE);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("cannot open {}: {error}", path.display())),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Self { _file: file, path })),
            Err(TryLockError::WouldBlock) => Err(format!(
                "{} is in use by another process: {}; it is still being written, merge it when that process has ended",
                folder.display(),
                holder(&mut file)
            )),
            Err(TryLockError::Error(error)) => Err(format!("cannot lock {}: {error}", path.display())),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds a lock, as its file says: "pid N (program)". The holder writes it just after taking
/// the lock, so a reader may have to wait for it briefly.
fn holder(file: &mut File) -> String {
    for _ in 0..HOLDER_READ_ATTEMPTS_MAX {
        let mut text = String::new();
        let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
        if read.is_ok() && text.ends_with('\n') {
            return text.trim().to_string();
        }
        std::thread::sleep(HOLDER_READ_PAUSE);
    }
    "its process id is not recorded".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_folder_is_refused_naming_the_holder_and_free_again_once_released() {
        let folder = std::env::temp_dir().join(format!("fleetsim-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        assert!(FolderLock::acquire_existing(&folder).is_err(), "a missing folder is not created to be resumed");
        let held = FolderLock::create_and_acquire(&folder).unwrap();
        let refused = FolderLock::create_and_acquire(&folder).unwrap_err();
        assert!(refused.contains(&format!("pid {}", std::process::id())), "{refused}");
        assert!(refused.contains(&folder.display().to_string()), "{refused}");
        assert!(FolderLock::acquire_existing(&folder).is_err());
        drop(held);
        let again = FolderLock::acquire_existing(&folder).unwrap();
        assert_eq!(again.path(), folder.join(LOCK_FILE));
        drop(again);
        std::fs::remove_dir_all(folder).unwrap();
    }
}
