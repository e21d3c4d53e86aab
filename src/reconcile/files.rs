//! Write the files a plan refers to (certificates, error responses) before `haproxy -c` sees the
//! config, and remove the ones no plan names any more, so a withdrawn request leaves no key
//! behind.
//!
//! Only directories the charm owns are swept. Certificates hold private keys: they are written
//! 0600 in 0700 directories (`DESIGN.md` "Secrets") through a temp file and a rename, so HAProxy
//! never reads half a file. Contents are never logged.

use std::collections::BTreeSet;
use std::fs;

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One file to have on disk.
pub struct WantedFile<'a> {
    pub path: &'a Path,
    pub contents: &'a [u8],
    pub mode: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct FileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn err(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.to_owned(),
        source,
    }
}

/// Make `dir` exist with mode 0700.
pub fn private_dir(dir: &Path) -> Result<(), FileError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(err(dir))
}

/// Write `file` unless it already holds exactly these bytes with this mode.
pub fn write(file: &WantedFile) -> Result<(), FileError> {
    let path = file.path;
    if let Some(parent) = path.parent() {
        private_dir(parent)?;
    }
    let same_bytes = fs::read(path).map(|b| b == file.contents).unwrap_or(false);
    let same_mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777 == file.mode)
        .unwrap_or(false);
    if same_bytes && same_mode {
        return Ok(());
    }
    crate::private_file::write(path, file.contents, file.mode).map_err(|e| FileError {
        path: e.path,
        source: e.source,
    })
}

/// Delete every regular file directly in `dir` that is not in `keep`. Returns what went.
pub fn sweep(dir: &Path, keep: &BTreeSet<PathBuf>) -> Result<Vec<PathBuf>, FileError> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(err(dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(err(dir))?.path();
        if path.is_file() && !keep.contains(&path) {
            fs::remove_file(&path).map_err(err(&path))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_private_files_and_sweeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        let a = certs.join("a.pem");
        write(&WantedFile {
            path: &a,
            contents: b"A",
            mode: 0o600,
        })
        .unwrap();
        fs::write(certs.join("stale.pem"), "old key").unwrap();
        assert_eq!(
            fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&certs).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let removed = sweep(&certs, &BTreeSet::from([a.clone()])).unwrap();
        assert_eq!(removed, vec![certs.join("stale.pem")]);
        assert_eq!(fs::read(&a).unwrap(), b"A");
    }

    #[test]
    fn rewrites_when_mode_differs() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.http");
        fs::write(&f, "B").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o666)).unwrap();
        write(&WantedFile {
            path: &f,
            contents: b"B",
            mode: 0o644,
        })
        .unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }
}
