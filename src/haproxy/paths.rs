//! Every file and socket the HAProxy engine touches, in one struct.
//!
//! [`Paths::debian`] is the Debian layout (`spec/haproxy.md` §1, §8); [`Paths::under`] puts the
//! same layout below one directory so tests run HAProxy from temp dirs, never on `/etc/haproxy`
//! or `/run`. All paths are absolute: HAProxy re-executes itself with its original argv at every
//! reload (§1). This module only names paths; it creates nothing.

use crate::plan::{FilePath, InvalidValue, UserName};
use crate::render::RuntimeFiles;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The HAProxy binary (`/usr/sbin/haproxy`).
    pub haproxy_bin: PathBuf,
    /// The live config (`/etc/haproxy/haproxy.cfg`); never changes between start and reloads.
    pub config: PathBuf,
    /// The candidate, same directory, not ending in `.cfg` (§2: `-f <dir>` loads `*.cfg`).
    pub candidate: PathBuf,
    /// The last config that reloaded and verified (§2 step 4).
    pub last_good: PathBuf,
    /// `-p`: the master's PID, written after a successful start, never removed by HAProxy.
    pub pidfile: PathBuf,
    /// `-S <path>,mode,600`: the master CLI (§1, §3).
    pub master_socket: PathBuf,
    /// `stats socket ... level admin`: the worker runtime API (§4).
    pub admin_socket: PathBuf,
    /// `server-state-file`, dumped before each reload (§4).
    pub server_state: PathBuf,
    /// `chroot`; `None` leaves it out of the config.
    pub chroot: Option<PathBuf>,
    /// The master's stdout/stderr without systemd (`log stdout`, reload ALERTs, §7).
    pub log_file: PathBuf,
    /// `user`/`group` of the workers.
    pub user: Option<String>,
    pub group: Option<String>,
    /// Exists when systemd runs the host (§1 "Detect systemd").
    pub systemd_marker: PathBuf,
    /// Serializes reloads between concurrent charm processes (§3: reloads merge).
    pub lock_file: PathBuf,
    /// What the running HAProxy serves, as far as runtime changes go (see `haproxy::snapshot`).
    /// On tmpfs: after a reboot HAProxy starts from the file, with no runtime state to track.
    pub plan_snapshot: PathBuf,
}

impl Paths {
    /// Debian's layout, as the package and its unit use it.
    pub fn debian() -> Self {
        Paths {
            haproxy_bin: "/usr/sbin/haproxy".into(),
            config: "/etc/haproxy/haproxy.cfg".into(),
            candidate: "/etc/haproxy/.haproxy.cfg.new".into(),
            last_good: "/etc/haproxy/haproxy.cfg.last-good".into(),
            pidfile: "/run/haproxy.pid".into(),
            master_socket: "/run/haproxy-master.sock".into(),
            admin_socket: "/run/haproxy/admin.sock".into(),
            server_state: "/run/haproxy/server-state".into(),
            chroot: Some("/var/lib/haproxy".into()),
            log_file: "/var/log/haproxy-lb/haproxy.log".into(),
            user: Some("haproxy".into()),
            group: Some("haproxy".into()),
            systemd_marker: "/run/systemd/system".into(),
            lock_file: "/run/haproxy-lb.lock".into(),
            plan_snapshot: "/run/haproxy/haproxy-lb.plan.json".into(),
        }
    }

    /// The Debian layout below `root` (which must be absolute), with `chroot` at
    /// `<root>/var/lib/haproxy`. `systemd_marker` points inside `root` too, so a test sees the
    /// standalone world even on a systemd host.
    pub fn under(root: &Path) -> Self {
        let at = |p: &str| root.join(p.trim_start_matches('/'));
        let debian = Paths::debian();
        Paths {
            haproxy_bin: debian.haproxy_bin,
            config: at("/etc/haproxy/haproxy.cfg"),
            candidate: at("/etc/haproxy/.haproxy.cfg.new"),
            last_good: at("/etc/haproxy/haproxy.cfg.last-good"),
            pidfile: at("/run/haproxy.pid"),
            master_socket: at("/run/haproxy-master.sock"),
            admin_socket: at("/run/haproxy/admin.sock"),
            server_state: at("/run/haproxy/server-state"),
            chroot: Some(at("/var/lib/haproxy")),
            log_file: at("/var/log/haproxy-lb/haproxy.log"),
            user: debian.user,
            group: debian.group,
            systemd_marker: at("/run/systemd/system"),
            lock_file: at("/run/haproxy-lb.lock"),
            plan_snapshot: at("/run/haproxy/haproxy-lb.plan.json"),
        }
    }

    /// The `global` section's files, validated for the template.
    pub fn runtime_files(&self) -> Result<RuntimeFiles, InvalidValue> {
        let file = |p: &Path| FilePath::new(&p.to_string_lossy());
        Ok(RuntimeFiles {
            admin_socket: file(&self.admin_socket)?,
            server_state: file(&self.server_state)?,
            chroot: self.chroot.as_deref().map(file).transpose()?,
            user: self.user.as_deref().map(UserName::new).transpose()?,
            group: self.group.as_deref().map(UserName::new).transpose()?,
        })
    }

    /// Directories that must exist before HAProxy starts or reloads (§2: `-c` does not check
    /// them; a missing chroot at reload takes everything down).
    pub fn runtime_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = [
            &self.config,
            &self.pidfile,
            &self.master_socket,
            &self.admin_socket,
            &self.server_state,
            &self.log_file,
            &self.lock_file,
            &self.plan_snapshot,
        ]
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
        dirs.extend(self.chroot.clone());
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// systemd runs this host (§1).
    pub fn systemd_present(&self) -> bool {
        self.systemd_marker.is_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_layout_matches_the_package() {
        let p = Paths::debian();
        assert_eq!(p.config, Path::new("/etc/haproxy/haproxy.cfg"));
        assert_eq!(p.candidate, Path::new("/etc/haproxy/.haproxy.cfg.new"));
        assert_eq!(p.master_socket, Path::new("/run/haproxy-master.sock"));
        assert_eq!(p.admin_socket, Path::new("/run/haproxy/admin.sock"));
        assert_eq!(p.chroot.as_deref(), Some(Path::new("/var/lib/haproxy")));
    }

    #[test]
    fn under_moves_every_path_below_root() {
        let p = Paths::under(Path::new("/tmp/x"));
        for path in [
            &p.config,
            &p.candidate,
            &p.last_good,
            &p.pidfile,
            &p.master_socket,
            &p.admin_socket,
            &p.server_state,
            &p.log_file,
            &p.systemd_marker,
            &p.lock_file,
            &p.plan_snapshot,
        ] {
            assert!(path.starts_with("/tmp/x/"), "{}", path.display());
        }
        assert!(p.candidate.to_string_lossy().ends_with(".new"));
        assert!(p.runtime_files().is_ok());
    }

    #[test]
    fn runtime_files_refuse_a_path_with_a_space() {
        let p = Paths::under(Path::new("/tmp/a b"));
        assert!(p.runtime_files().is_err());
    }
}
