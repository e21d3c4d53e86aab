//! Atomic writes of files that may hold secrets (keys, hashes, state): the one way the charm
//! writes such a file.
//!
//! The bytes go to a temp file created with the final mode (never a moment world-readable),
//! are fsynced, renamed over the target, and the directory is fsynced, so a crash or a power
//! cut leaves the old file or the new one, never half of either (`spec/haproxy.md` §2). A
//! missing parent directory is created 0700 (`DESIGN.md` "Secrets"). Contents never reach an
//! error or a log line.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {source}")]
pub struct WriteError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Replace `path` with `bytes`, mode `mode`.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let fail = |action: &'static str, at: &Path| {
        let at = at.to_path_buf();
        move |source| WriteError {
            action,
            path: at,
            source,
        }
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(fail("create the directory of", path))?;
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp-haproxy-lb");
    let temp = PathBuf::from(temp);
    let _ = fs::remove_file(&temp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp)
        .map_err(fail("create", &temp))?;
    file.write_all(bytes).map_err(fail("write", &temp))?;
    file.sync_all().map_err(fail("sync", &temp))?;
    fs::rename(&temp, path).map_err(fail("rename onto", path))?;
    if let Some(dir) = dir {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail("sync the directory of", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_with_the_mode_in_a_private_new_directory_and_leaves_no_temp() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("state/secret.key");
        write(&path, b"one", 0o600).unwrap();
        write(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.path().join("state")), 0o700);
        let names: Vec<_> = fs::read_dir(root.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret.key"]);
    }

    #[test]
    fn an_error_names_the_path_not_the_contents() {
        let err = write(Path::new("/proc/no-such-dir/x"), b"SECRET", 0o600).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/proc/no-such-dir"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
