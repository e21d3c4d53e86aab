//! One mutating run at a time per unit: an exclusive `flock` on a file in the charm's state
//! directory, held for the whole reconcile of a hook and for an action.
//!
//! Juju never runs two hooks or actions of one unit at once, but `juju exec`, `juju ssh` and an
//! operator's shell do not take Juju's machine lock (issue 10 item 4): two reconciles could
//! interleave writes of `haproxy.cfg`, the generated certificates and relation answers. A second
//! run waits for the first, bounded, and then fails naming the holder, so Juju retries the hook
//! later (`spec/juju-hook-tools.md` §1.5) instead of two writers racing.
//!
//! The lock is an advisory `flock(2)`: the kernel drops it when the holder exits, even on
//! SIGKILL, so a crashed run never leaves the unit locked. The holder writes `pid <pid> <what>`
//! into the file after taking the lock; waiters read it only for the error message. This module
//! owns nothing else: it neither reads Juju nor touches HAProxy.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The lock's file name inside the charm's state directory.
pub const FILE_NAME: &str = "dispatch.lock";

/// How long a second run waits for the first before failing. Longer than a normal reconcile
/// (a few seconds, up to a minute when `apt-get` installs HAProxy), shorter than the time an
/// operator would wait for `juju exec` before wondering.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(120);

const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open the lock file {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {errno}")]
    Lock { path: PathBuf, errno: Errno },
    /// Another run kept the lock for the whole wait.
    #[error(
        "another hook or action of this unit holds {path} ({holder}); gave up after {}s",
        waited.as_secs()
    )]
    Busy {
        path: PathBuf,
        waited: Duration,
        /// What the holder wrote (`pid 123 hook config-changed`), or `holder unknown`.
        holder: String,
    },
}

/// Held while it lives; dropping it (or the process dying) releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _lock: Flock<File>,
}

/// The lock file for a charm whose state lives in `state_dir`.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Take the lock at `path` for `what` (e.g. `hook config-changed`), waiting up to `wait`.
pub fn acquire(path: &Path, what: &str, wait: Duration) -> Result<RunLock, LockError> {
    let open_error = |source| LockError::Open {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        // The lock lives in the charm's state directory, which also holds the password hash
        // and the kept config: the first thing every run does is make it private (0700).
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(open_error)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(open_error)?;
    let started = Instant::now();
    let mut announced = false;
    let mut lock = loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => break lock,
            Err((back, Errno::EWOULDBLOCK)) | Err((back, Errno::EINTR)) => {
                file = back;
                if started.elapsed() >= wait {
                    return Err(LockError::Busy {
                        path: path.to_owned(),
                        waited: started.elapsed(),
                        holder: holder(&mut file),
                    });
                }
                if !announced {
                    tracing::info!(
                        holder = %holder(&mut file),
                        "waiting for another hook or action of this unit to finish"
                    );
                    announced = true;
                }
                sleep(POLL);
            }
            Err((_, errno)) => {
                return Err(LockError::Lock {
                    path: path.to_owned(),
                    errno,
                })
            }
        }
    };
    // Best effort: the holder text only improves a waiter's message.
    let text = format!("pid {} {what}\n", std::process::id());
    let _ = lock
        .set_len(0)
        .and_then(|()| lock.seek(SeekFrom::Start(0)))
        .and_then(|_| lock.write_all(text.as_bytes()));
    Ok(RunLock { _lock: lock })
}

/// What the current holder wrote, one line, bounded.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(200).read_to_string(&mut text);
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "holder unknown".to_owned()
    } else {
        crate::plan::types::show(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_fails_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        let first = acquire(&path, "hook config-changed", Duration::ZERO).unwrap();
        let started = Instant::now();
        let err = acquire(&path, "action x", Duration::from_millis(300)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {} hook config-changed", std::process::id())),
            "{text}"
        );
        drop(first);
        acquire(&path, "action x", Duration::ZERO).unwrap();
    }

    #[test]
    fn the_lock_file_and_its_directory_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
        let _lock = acquire(&path_in(&state), "hook install", Duration::ZERO).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&path_in(&state)), 0o600);
    }
}
