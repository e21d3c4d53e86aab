//! Starting, reloading and stopping HAProxy, and proving that a reload took.
//!
//! Two worlds (`spec/haproxy.md` §1): with systemd (`/run/systemd/system` exists) the charm
//! drives Debian's unit with `systemctl`; without it, the charm runs the master-worker itself
//! in its own session, with a pidfile, a `,mode,600` master CLI and a log file. In both worlds a
//! reload is verified on the master CLI (`show proc`: the reload counter rose and `[failed: N]`
//! is 0, then a current worker answers, §3), reloads are serialized by a lock file, and the
//! server state is dumped to the state file just before (§4). The systemd paths are written to
//! §1 but cannot be exercised on machines without systemd.
//!
//! This module never renders or installs config files (`config` does).

use super::config::replace_file;
use super::paths::Paths;
use super::runtime::{parse_show_proc, socket_command, AdminSocket, ProcTable, RuntimeError};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("HAProxy did not start: {reason}; log: {log_tail}")]
    StartFailed { reason: String, log_tail: String },
    #[error("`{command}` failed ({status}): {stderr}")]
    Systemctl {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("HAProxy is not running")]
    NotRunning,
    #[error("cannot signal HAProxy master {pid}: {source}")]
    Signal {
        pid: u32,
        #[source]
        source: nix::Error,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> ServiceError + 'a {
    move |source| ServiceError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// How a reload is checked (§3): poll every `poll` up to `timeout` for the counter to rise,
/// then wait `settle` and check a current worker answers (post-fork failures show up there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadPolicy {
    pub poll: Duration,
    pub timeout: Duration,
    pub settle: Duration,
}

impl Default for ReloadPolicy {
    fn default() -> Self {
        ReloadPolicy {
            poll: Duration::from_millis(100),
            timeout: Duration::from_secs(10),
            settle: Duration::from_secs(1),
        }
    }
}

/// Which way HAProxy is run on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    Systemd,
    Standalone,
}

/// What is running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No live HAProxy behind the pidfile (missing, stale, or a reused PID).
    Stopped,
    /// Our master-worker, answering on the master CLI.
    Running(ProcTable),
    /// A live haproxy without our master CLI (e.g. the init-script daemon, §9.12).
    Foreign { pid: u32 },
}

/// How a reload ended. Only `Reloaded` means the new config serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// Counter rose, no failure, a fresh worker answers.
    Reloaded { reloads: u32 },
    /// The master refused the new config (`[failed: N]`); the old worker keeps serving.
    Failed {
        reloads: u32,
        failed: u32,
        log_tail: String,
    },
    /// The counter rose but no current worker answered afterwards (post-fork failure, §3).
    WorkerLost { log_tail: String },
    /// The master itself exited during the reload (§3: a post-fork failure takes everything
    /// down): HAProxy is not running any more.
    MasterExited { log_tail: String },
    /// The counter never rose within the policy's timeout.
    TimedOut { log_tail: String },
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// It was already running (ours); nothing was done.
    AlreadyRunning {
        master_pid: u32,
    },
    Started {
        master_pid: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Service {
    pub paths: Paths,
    pub policy: ReloadPolicy,
    /// How long a graceful stop (`USR1`) may take before `TERM`.
    pub stop_grace: Duration,
}

impl Service {
    pub fn new(paths: Paths) -> Self {
        Service {
            paths,
            policy: ReloadPolicy::default(),
            stop_grace: Duration::from_secs(10),
        }
    }

    pub fn world(&self) -> World {
        if self.paths.systemd_present() {
            World::Systemd
        } else {
            World::Standalone
        }
    }

    /// Create the runtime directories and seed the server-state file with `1\n` (§4: a missing
    /// file warns, an empty one errors).
    pub fn prepare(&self) -> Result<(), ServiceError> {
        for dir in self.paths.runtime_dirs() {
            fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        }
        if !self.paths.server_state.exists() {
            fs::write(&self.paths.server_state, "1\n")
                .map_err(io("writing", &self.paths.server_state))?;
        }
        Ok(())
    }

    /// `show proc` on the master CLI.
    pub fn show_proc(&self) -> Result<ProcTable, RuntimeError> {
        let text = socket_command(
            &self.paths.master_socket,
            "show proc",
            Duration::from_secs(5),
        )?;
        parse_show_proc(&text)
    }

    /// The worker runtime API.
    pub fn admin(&self) -> AdminSocket {
        AdminSocket::new(&self.paths.admin_socket)
    }

    /// What runs now. The CLI refuses connections during a reload (§3, 50-75 ms for a small
    /// config), so a live haproxy is called foreign only after it failed to answer for 3 s.
    pub fn state(&self) -> State {
        let Some(pid) = read_pid(&self.paths.pidfile) else {
            return State::Stopped;
        };
        if !is_live_haproxy(pid) {
            return State::Stopped;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match self.show_proc() {
                Ok(table) if table.master_pid == pid => return State::Running(table),
                Ok(_) => return State::Foreign { pid },
                Err(_) if Instant::now() < deadline => sleep(Duration::from_millis(100)),
                Err(_) => return State::Foreign { pid },
            }
        }
    }

    /// Start HAProxy on the installed config, unless ours already runs (one instance only, §1).
    pub fn start(&self) -> Result<Started, ServiceError> {
        self.prepare()?;
        match self.world() {
            World::Systemd => {
                systemctl(&["enable", "haproxy"])?;
                systemctl(&["restart", "haproxy"])?;
                let table = self.wait_ready(None, 0)?;
                Ok(Started::Started {
                    master_pid: table.master_pid,
                })
            }
            World::Standalone => {
                match self.state() {
                    State::Running(table) => {
                        return Ok(Started::AlreadyRunning {
                            master_pid: table.master_pid,
                        })
                    }
                    State::Foreign { pid } => {
                        tracing::warn!(
                            pid,
                            "stopping an haproxy without our master CLI (§1: one instance only)"
                        );
                        self.stop_pid(pid)?;
                    }
                    State::Stopped => {}
                }
                self.remove_runtime_files();
                self.spawn_master()
            }
        }
    }

    fn spawn_master(&self) -> Result<Started, ServiceError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.paths.log_file)
            .map_err(io("opening", &self.paths.log_file))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log_err = log
            .try_clone()
            .map_err(io("opening", &self.paths.log_file))?;
        let mut master_socket = self.paths.master_socket.as_os_str().to_owned();
        master_socket.push(",mode,600");
        let mut command = Command::new(&self.paths.haproxy_bin);
        command
            .arg("-W")
            .arg("-f")
            .arg(&self.paths.config)
            .arg("-p")
            .arg(&self.paths.pidfile)
            .arg("-S")
            .arg(master_socket)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // SAFETY: setsid() is async-signal-safe and touches no memory of the parent; running it
        // between fork and exec detaches the master from the hook's session (§1 `setsid`).
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command
            .spawn()
            .map_err(io("starting", &self.paths.haproxy_bin))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(ServiceError::StartFailed {
                    reason: format!("the master exited with {status}"),
                    log_tail: log_tail(&self.paths.log_file, log_start),
                });
            }
            if read_pid(&self.paths.pidfile) == Some(child.id()) {
                if let Ok(table) = self.show_proc() {
                    if !table.workers.is_empty() {
                        tracing::info!(pid = table.master_pid, "HAProxy started");
                        return Ok(Started::Started {
                            master_pid: table.master_pid,
                        });
                    }
                }
            }
            if Instant::now() > deadline {
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
                let _ = child.wait();
                return Err(ServiceError::StartFailed {
                    reason: "no worker after 10 s".into(),
                    log_tail: log_tail(&self.paths.log_file, log_start),
                });
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// Wait until the master CLI lists a worker, with more than `reloads_before` reloads.
    fn wait_ready(&self, pid: Option<u32>, log_start: u64) -> Result<ProcTable, ServiceError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(table) = self.show_proc() {
                if !table.workers.is_empty() && pid.is_none_or(|p| p == table.master_pid) {
                    return Ok(table);
                }
            }
            if Instant::now() > deadline {
                return Err(ServiceError::StartFailed {
                    reason: "the master CLI listed no worker within 10 s".into(),
                    log_tail: log_tail(&self.paths.log_file, log_start),
                });
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// Reload and verify (§3). Serialized across processes by the lock file.
    pub fn reload(&self) -> Result<ReloadOutcome, ServiceError> {
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.paths.lock_file)
            .map_err(io("opening", &self.paths.lock_file))?;
        let _lock =
            Flock::lock(lock_file, FlockArg::LockExclusive).map_err(|(_, e)| ServiceError::Io {
                action: "locking",
                path: self.paths.lock_file.clone(),
                source: e.into(),
            })?;
        let State::Running(before) = self.state() else {
            return Err(ServiceError::NotRunning);
        };
        if let Err(e) = self.dump_server_state() {
            // Not fatal: without the file servers come back UP until their first check (§4).
            tracing::warn!(error = %e, "could not dump the server state before reloading");
        }
        let log_start = fs::metadata(&self.paths.log_file)
            .map(|m| m.len())
            .unwrap_or(0);
        match self.world() {
            World::Systemd => systemctl(&["reload", "haproxy"])?,
            World::Standalone => kill(Pid::from_raw(before.master_pid as i32), Signal::SIGUSR2)
                .map_err(|source| ServiceError::Signal {
                    pid: before.master_pid,
                    source,
                })?,
        }
        Ok(self.verify_reload(&before, log_start))
    }

    fn verify_reload(&self, before: &ProcTable, log_start: u64) -> ReloadOutcome {
        let tail = || log_tail(&self.paths.log_file, log_start);
        let deadline = Instant::now() + self.policy.timeout;
        let after = loop {
            sleep(self.policy.poll);
            // Connection errors are expected while the master re-executes (§3).
            if let Ok(table) = self.show_proc() {
                if table.reloads > before.reloads {
                    break table;
                }
            }
            if !is_alive(before.master_pid) {
                return ReloadOutcome::MasterExited { log_tail: tail() };
            }
            if Instant::now() > deadline {
                return ReloadOutcome::TimedOut { log_tail: tail() };
            }
        };
        if after.failed > 0 {
            return ReloadOutcome::Failed {
                reloads: after.reloads,
                failed: after.failed,
                log_tail: tail(),
            };
        }
        sleep(self.policy.settle);
        let deadline = Instant::now() + self.policy.timeout;
        loop {
            match self.show_proc() {
                Ok(table) if table.workers.iter().any(|(_, reloads)| *reloads == 0) => {
                    return ReloadOutcome::Reloaded {
                        reloads: table.reloads,
                    }
                }
                Ok(_) => return ReloadOutcome::WorkerLost { log_tail: tail() },
                Err(_) if !is_alive(before.master_pid) => {
                    return ReloadOutcome::MasterExited { log_tail: tail() }
                }
                Err(_) if Instant::now() < deadline => sleep(self.policy.poll),
                Err(_) => return ReloadOutcome::WorkerLost { log_tail: tail() },
            }
        }
    }

    /// `show servers state` into the server-state file, atomically (§4).
    pub fn dump_server_state(&self) -> Result<(), ServiceError> {
        let text = self.admin().show_servers_state()?;
        replace_file(&self.paths.server_state, text.as_bytes()).map_err(|e| ServiceError::Io {
            action: "writing",
            path: self.paths.server_state.clone(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Stop HAProxy: gracefully (`USR1`, bounded by `stop_grace`), then `TERM`, then `KILL`;
    /// a zombie counts as gone (§1); the pidfile and sockets are removed after.
    pub fn stop(&self) -> Result<(), ServiceError> {
        match self.world() {
            World::Systemd => systemctl(&["stop", "haproxy"]),
            World::Standalone => {
                if let Some(pid) = read_pid(&self.paths.pidfile) {
                    if is_live_haproxy(pid) {
                        self.stop_pid(pid)?;
                    }
                }
                self.remove_runtime_files();
                Ok(())
            }
        }
    }

    fn stop_pid(&self, pid: u32) -> Result<(), ServiceError> {
        let target = Pid::from_raw(pid as i32);
        for (signal, wait) in [
            (Signal::SIGUSR1, self.stop_grace),
            (Signal::SIGTERM, Duration::from_secs(5)),
            (Signal::SIGKILL, Duration::from_secs(5)),
        ] {
            if !is_alive(pid) {
                return Ok(());
            }
            kill(target, signal).map_err(|source| ServiceError::Signal { pid, source })?;
            let deadline = Instant::now() + wait;
            while is_alive(pid) && Instant::now() < deadline {
                sleep(Duration::from_millis(50));
            }
        }
        if is_alive(pid) {
            Err(ServiceError::Signal {
                pid,
                source: nix::Error::EBUSY,
            })
        } else {
            Ok(())
        }
    }

    /// Pidfile and sockets survive a stop (§1): remove them so nothing stale is trusted.
    fn remove_runtime_files(&self) {
        for path in [
            &self.paths.pidfile,
            &self.paths.master_socket,
            &self.paths.admin_socket,
        ] {
            let _ = fs::remove_file(path);
        }
    }
}

fn systemctl(args: &[&str]) -> Result<(), ServiceError> {
    let command = format!("systemctl {}", args.join(" "));
    let output =
        Command::new("systemctl")
            .args(args)
            .output()
            .map_err(|e| ServiceError::Systemctl {
                command: command.clone(),
                status: "not run".into(),
                stderr: e.to_string(),
            })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ServiceError::Systemctl {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn read_pid(pidfile: &Path) -> Option<u32> {
    fs::read_to_string(pidfile)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p| *p > 0)
}

/// Alive and not a zombie (§1: `kill -0` succeeds on zombies when PID 1 does not reap).
pub fn is_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised command name (which may hold spaces).
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn is_live_haproxy(pid: u32) -> bool {
    is_alive(pid)
        && fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                c.split(|b| *b == 0)
                    .next()
                    .is_some_and(|argv0| argv0.ends_with(b"haproxy"))
            })
            .unwrap_or(false)
}

/// The last lines HAProxy logged since `from` (for error reports; at most 20 lines).
pub fn log_tail(log: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(log) {
        let _ = file.seek(SeekFrom::Start(from));
        let _ = file.take(1 << 20).read_to_string(&mut text);
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[ALERT]") || l.contains("[WARNING]") || l.contains("[NOTICE]"))
        .collect();
    let keep = lines.len().saturating_sub(20);
    lines[keep..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_a_missing_pid_is_not() {
        assert!(is_alive(std::process::id()));
        assert!(!is_alive(u32::MAX - 1));
    }

    #[test]
    fn stale_pidfile_means_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::new(Paths::under(dir.path()));
        service.prepare().unwrap();
        // Our own PID is alive but not haproxy: a reused PID must not be trusted.
        fs::write(&service.paths.pidfile, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(service.state(), State::Stopped);
        fs::write(&service.paths.pidfile, "garbage").unwrap();
        assert_eq!(service.state(), State::Stopped);
    }

    #[test]
    fn systemd_is_detected_by_its_runtime_directory() {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::new(Paths::under(dir.path()));
        assert_eq!(service.world(), World::Standalone);
        fs::create_dir_all(&service.paths.systemd_marker).unwrap();
        assert_eq!(service.world(), World::Systemd);
    }

    #[test]
    fn prepare_seeds_the_server_state_file() {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::new(Paths::under(dir.path()));
        service.prepare().unwrap();
        assert_eq!(
            fs::read_to_string(&service.paths.server_state).unwrap(),
            "1\n"
        );
        assert_eq!(service.world(), World::Standalone);
    }

    #[test]
    fn log_tail_keeps_haproxy_messages_after_offset() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        fs::write(&log, "[ALERT] old\n").unwrap();
        let start = fs::metadata(&log).unwrap().len();
        fs::write(&log, "[ALERT] old\nGET / 200\n[ALERT] (1) : new one\n").unwrap();
        assert_eq!(log_tail(&log, start), "[ALERT] (1) : new one");
    }
}
