//! The config file's life: candidate write, `haproxy -c`, the checks `-c` misses, atomic
//! install, last-known-good copy and restore (`spec/haproxy.md` §2).
//!
//! The live path never changes between start and reloads (HAProxy re-executes with its argv).
//! Nothing here renders, starts or signals HAProxy; `service` does that.

use super::paths::Paths;
use crate::plan::{Bind, LoadBalancerPlan};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run {bin} -c: {source}")]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `haproxy -c` said no; nothing was installed. Carries the ALERT lines (§2).
    #[error("haproxy -c rejected the new config (exit {status}): {}", alerts.join(" | "))]
    Rejected {
        status: i32,
        alerts: Vec<String>,
        /// The full stderr, for the log.
        stderr: String,
    },
    /// Something `haproxy -c` cannot see would break the start or reload (§2 table).
    #[error("the new config would fail to start: {}", problems.join("; "))]
    WouldNotStart { problems: Vec<String> },
    #[error("no last-known-good config at {0}")]
    NoLastGood(PathBuf),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ConfigError + 'a {
    move |source| ConfigError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What `stage` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    /// The rendered bytes equal the live file: nothing was written.
    Unchanged,
    /// The candidate is written, fsynced and valid; `warnings` are `-c`'s `[WARNING]` lines.
    Ready { warnings: Vec<String> },
}

/// Step 1-2 of §2: skip when unchanged, else write the candidate and validate it. A rejected
/// candidate is deleted.
pub fn stage(paths: &Paths, bytes: &[u8]) -> Result<Staged, ConfigError> {
    match fs::read(&paths.config) {
        Ok(live) if live == bytes => return Ok(Staged::Unchanged),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("reading", &paths.config)(e)),
    }
    if let Some(dir) = paths.candidate.parent() {
        fs::create_dir_all(dir).map_err(io("creating", dir))?;
    }
    write_synced(&paths.candidate, bytes)?;
    match validate(&paths.haproxy_bin, &paths.candidate) {
        Ok(warnings) => Ok(Staged::Ready { warnings }),
        Err(e) => {
            let _ = fs::remove_file(&paths.candidate);
            Err(e)
        }
    }
}

/// `haproxy -c -f <file>` without `-q` (§2: `-q` is silent even on errors). Exit 0 and 2 (valid
/// but no listener; cannot happen with our stats socket) are accepted.
pub fn validate(bin: &Path, file: &Path) -> Result<Vec<String>, ConfigError> {
    let output = Command::new(bin)
        .arg("-c")
        .arg("-f")
        .arg(file)
        .output()
        .map_err(|source| ConfigError::Spawn {
            bin: bin.to_path_buf(),
            source,
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines_with = |tag: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.contains(tag))
            .map(str::to_owned)
            .collect()
    };
    match output.status.code() {
        Some(0) => Ok(lines_with("[WARNING]")),
        status => {
            let mut alerts = lines_with("[ALERT]");
            if alerts.is_empty() {
                alerts = stderr.lines().map(str::to_owned).collect();
            }
            Err(ConfigError::Rejected {
                status: status.unwrap_or(-1),
                alerts,
                stderr,
            })
        }
    }
}

/// The checks `-c` cannot do (§2): unique `ip:port`, new binds free and local (test-bind),
/// socket/chroot/state dirs present, `maxconn` within the fd limit. `serving` = HAProxy runs
/// the live config, so its own binds are not test-bound (they are taken, by us).
pub fn precheck(paths: &Paths, plan: &LoadBalancerPlan, serving: bool) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    let mut binds: Vec<&Bind> = plan.frontends.iter().map(|f| &f.bind).collect();
    binds.extend(plan.stats.as_ref().map(|s| &s.bind));
    let mut seen = BTreeSet::new();
    for bind in &binds {
        if !seen.insert(bind.to_string()) {
            problems.push(format!("{bind} is bound by two frontends"));
        }
    }
    let live = if serving {
        live_binds(&paths.config)
    } else {
        BTreeSet::new()
    };
    for bind in binds {
        if live.contains(&bind.to_string()) {
            continue;
        }
        let ip = bind.host.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if let Err(e) = TcpListener::bind(SocketAddr::new(ip, bind.port.get())) {
            let why = match e.kind() {
                std::io::ErrorKind::AddrInUse => "the port is used by another program".to_owned(),
                std::io::ErrorKind::AddrNotAvailable => {
                    "the address is not on this host".to_owned()
                }
                _ => e.to_string(),
            };
            problems.push(format!("cannot bind {bind}: {why}"));
        }
    }
    for dir in paths.runtime_dirs() {
        if !dir.is_dir() {
            problems.push(format!("directory {} is missing", dir.display()));
        }
    }
    if let Some(hard) = hard_fd_limit() {
        // HAProxy needs about two fds per connection plus its listeners, checks and sockets
        // (§2: maxconn 20000 asked for 40050).
        let servers: usize = plan.backends.iter().map(|b| b.servers.len()).sum();
        let needed =
            2 * u64::from(plan.global.maxconn) + 64 + plan.frontends.len() as u64 + servers as u64;
        if needed > hard {
            problems.push(format!(
                "maxconn {} needs about {needed} file descriptors, the limit is {hard}",
                plan.global.maxconn
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::WouldNotStart { problems })
    }
}

/// `bind` addresses of the live config (our own rendering: `    bind <addr>[ ...]`).
fn live_binds(config: &Path) -> BTreeSet<String> {
    fs::read_to_string(config)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("bind "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The hard `RLIMIT_NOFILE` of this process (HAProxy started by us inherits it).
fn hard_fd_limit() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    // "Max open files  <soft>  <hard>  files"
    words.get(4)?.parse().ok()
}

/// Step 3 of §2: rename the candidate over the live file and fsync the directory.
pub fn install(paths: &Paths) -> Result<(), ConfigError> {
    fs::rename(&paths.candidate, &paths.config).map_err(io("renaming onto", &paths.config))?;
    sync_dir(&paths.config)
}

/// After a verified reload: copy the live file to last-good (temp + rename).
pub fn mark_good(paths: &Paths) -> Result<(), ConfigError> {
    let bytes = fs::read(&paths.config).map_err(io("reading", &paths.config))?;
    replace_file(&paths.last_good, &bytes)
}

/// The live file is the one the last verified start or reload took (a crash after the rename
/// and before the verification leaves them different).
pub fn live_is_last_good(paths: &Paths) -> bool {
    match (fs::read(&paths.config), fs::read(&paths.last_good)) {
        (Ok(live), Ok(good)) => live == good,
        _ => false,
    }
}

/// After a failed reload: put last-good back as the live file, so a restart never loads the
/// bad one (§2 step 4).
pub fn restore_last_good(paths: &Paths) -> Result<(), ConfigError> {
    let bytes = match fs::read(&paths.last_good) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::NoLastGood(paths.last_good.clone()))
        }
        Err(e) => return Err(io("reading", &paths.last_good)(e)),
    };
    replace_file(&paths.config, &bytes)
}

/// Write `bytes` to `<path>.tmp`, fsync, rename over `path`, fsync the directory.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write_synced(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(io("renaming onto", path))?;
    sync_dir(path)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    // 0600: the config names hashes and certificate paths; the master reads it as root (§1).
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io("writing", path))?;
    file.write_all(bytes).map_err(io("writing", path))?;
    file.sync_all().map_err(io("syncing", path))
}

fn sync_dir(path: &Path) -> Result<(), ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_binds_reads_our_bind_lines() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("haproxy.cfg");
        fs::write(
            &cfg,
            "frontend a\n    bind :80\nfrontend b\n    bind 127.0.2.1:443 ssl crt /x.pem\n",
        )
        .unwrap();
        let binds = live_binds(&cfg);
        assert!(binds.contains(":80"));
        assert!(binds.contains("127.0.2.1:443"));
        assert_eq!(binds.len(), 2);
    }

    fn empty_plan(maxconn: u32) -> LoadBalancerPlan {
        LoadBalancerPlan {
            global: crate::plan::GlobalSettings {
                maxconn,
                ..Default::default()
            },
            frontends: vec![],
            backends: vec![],
            userlists: vec![],
            stats: None,
            services: vec![],
        }
    }

    fn prepared() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        for d in paths.runtime_dirs() {
            fs::create_dir_all(d).unwrap();
        }
        (dir, paths)
    }

    #[test]
    fn precheck_refuses_maxconn_beyond_the_fd_limit() {
        let (_dir, paths) = prepared();
        assert!(precheck(&paths, &empty_plan(1000), false).is_ok());
        let hard = hard_fd_limit().unwrap();
        let too_many = u32::try_from(hard / 2 + 1).unwrap_or(u32::MAX);
        match precheck(&paths, &empty_plan(too_many), false) {
            Err(ConfigError::WouldNotStart { problems }) => {
                assert!(problems[0].contains("file descriptors"), "{problems:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn precheck_refuses_missing_runtime_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let Err(ConfigError::WouldNotStart { problems }) =
            precheck(&paths, &empty_plan(100), false)
        else {
            panic!("missing dirs accepted")
        };
        assert!(
            problems.iter().any(|p| p.contains("var/lib/haproxy")),
            "{problems:?}"
        );
    }

    #[test]
    fn precheck_refuses_a_duplicate_bind_and_a_foreign_address() {
        let (_dir, paths) = prepared();
        let mut plan = empty_plan(100);
        let frontend = |name: &str, bind: &str| crate::plan::Frontend {
            name: crate::plan::ProxyName::new(name).unwrap(),
            bind: Bind {
                host: Some(bind.parse().unwrap()),
                port: crate::plan::Port::new(22900).unwrap(),
            },
            mode: crate::plan::Mode::Http,
            tls: None,
            directives: vec![],
            routes: vec![],
            default_backend: None,
        };
        plan.frontends = vec![
            frontend("a", "127.0.2.100"),
            frontend("b", "127.0.2.100"),
            // TEST-NET-1: never an address of this host.
            frontend("c", "192.0.2.1"),
        ];
        let Err(ConfigError::WouldNotStart { problems }) = precheck(&paths, &plan, false) else {
            panic!("accepted")
        };
        let text = problems.join("\n");
        assert!(
            text.contains("127.0.2.100:22900 is bound by two frontends"),
            "{text}"
        );
        assert!(
            text.contains("192.0.2.1:22900: the address is not on this host"),
            "{text}"
        );
    }

    #[test]
    fn hard_fd_limit_is_readable() {
        assert!(hard_fd_limit().is_some_and(|n| n > 0));
    }

    #[test]
    fn restore_without_last_good_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        assert!(matches!(
            restore_last_good(&paths),
            Err(ConfigError::NoLastGood(_))
        ));
    }

    #[test]
    fn replace_file_writes_whole_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        replace_file(&path, b"one").unwrap();
        replace_file(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(!dir.path().join("f.tmp").exists());
    }
}
