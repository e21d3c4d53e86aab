//! Getting HAProxy onto the machine: install Debian/Ubuntu's `haproxy` package with `apt-get`
//! when the binary is absent, and read its version from `haproxy -v`. Owns only the package;
//! never writes HAProxy's configuration or manages the service (that is `haproxy`'s job).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use thiserror::Error;
use tracing::{info, warn};

use crate::juju::{Context, HookTools, ToolError, WorkloadStatus};
use crate::plan::types::show;

/// Where Debian's package puts the binary, and the directories searched after the hook's PATH
/// (Juju's PATH is the tools dir plus the agent's PATH, spec §1.2; be robust if that lacks
/// the sbin directories).
const DEBIAN_HAPROXY: &str = "/usr/sbin/haproxy";
const SYSTEM_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The programs the installer runs; injectable so tests can use fakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installer {
    /// `apt-get`, run only when `haproxy` is absent.
    pub apt_get: PathBuf,
    /// The `haproxy` binary whose presence means "installed".
    pub haproxy: PathBuf,
}

impl Installer {
    /// The real programs, found in the hook's PATH and then the system directories.
    pub fn for_context(ctx: &Context) -> Self {
        let dirs: Vec<&str> = ctx
            .tool_search_path
            .split(':')
            .filter(|d| !d.is_empty())
            .chain(SYSTEM_DIRS)
            .collect();
        let find = |name: &str| {
            dirs.iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| is_executable(p))
        };
        Self {
            apt_get: find("apt-get").unwrap_or_else(|| PathBuf::from("/usr/bin/apt-get")),
            haproxy: find("haproxy").unwrap_or_else(|| PathBuf::from(DEBIAN_HAPROXY)),
        }
    }
}

/// HAProxy's version as `haproxy -v` prints it, e.g. `2.6.12-1+deb12u4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaproxyVersion(String);

impl HaproxyVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads the version from `haproxy -v` output (`HAProxy version 2.6.12-1+deb12u4 ...`;
    /// HAProxy before 2.0 printed `HA-Proxy version ...`).
    pub fn parse(output: &str) -> Option<Self> {
        let first = output.lines().next()?;
        let rest = first
            .strip_prefix("HAProxy version ")
            .or_else(|| first.strip_prefix("HA-Proxy version "))?;
        let version = rest.split_whitespace().next()?;
        let plausible = version.starts_with(|c: char| c.is_ascii_digit())
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+~_".contains(c));
        plausible.then(|| Self(version.to_owned()))
    }
}

impl std::fmt::Display for HaproxyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why HAProxy could not be installed or identified.
#[derive(Debug, Error)]
pub enum InstallError {
    #[error("{command} exited {}: {stderr_tail}", exit_code.map_or("by signal".to_owned(), |c| c.to_string()))]
    AptFailed {
        command: String,
        exit_code: Option<i32>,
        /// The last line apt printed on stderr (its `E: ...` reason).
        stderr_tail: String,
    },
    #[error("cannot run {}: {source}", .program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("apt-get installed haproxy but {} is still missing", .haproxy.display())]
    StillMissing { haproxy: PathBuf },
    #[error("cannot read the version from `{} -v`: {}", .haproxy.display(), show(.output))]
    VersionUnreadable { haproxy: PathBuf, output: String },
    /// A hook tool failed while reporting progress: the hook must fail (spec §1.5).
    #[error(transparent)]
    Tool(#[from] ToolError),
}

/// Makes sure HAProxy is installed and returns its version. When it must install, the unit
/// status says so first (`maintenance`); the final status is the caller's to set.
pub fn ensure_haproxy(
    installer: &Installer,
    tools: &HookTools,
) -> Result<HaproxyVersion, InstallError> {
    if !is_executable(&installer.haproxy) {
        info!(haproxy = %installer.haproxy.display(), "haproxy is absent; installing the haproxy package");
        tools.status_set(WorkloadStatus::Maintenance, "installing haproxy")?;
        install_package(installer)?;
        if !is_executable(&installer.haproxy) {
            return Err(InstallError::StillMissing {
                haproxy: installer.haproxy.clone(),
            });
        }
    }
    haproxy_version(&installer.haproxy)
}

/// `apt-get install haproxy`, and once more after `apt-get update` if the package lists were
/// stale (a fresh cloud image often has none).
fn install_package(installer: &Installer) -> Result<(), InstallError> {
    match apt(
        installer,
        &["install", "--no-install-recommends", "haproxy"],
    ) {
        Ok(()) => Ok(()),
        Err(first) => {
            warn!("apt-get install failed ({first}); updating the package lists and retrying");
            apt(installer, &["update"])?;
            apt(
                installer,
                &["install", "--no-install-recommends", "haproxy"],
            )
        }
    }
}

fn apt(installer: &Installer, args: &[&str]) -> Result<(), InstallError> {
    // Non-interactive: keep existing config files, wait for a held dpkg lock instead of failing.
    let options = [
        "-y",
        "-q",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        "Dpkg::Options::=--force-confold",
        "-o",
        "DPkg::Lock::Timeout=300",
    ];
    let output = Command::new(&installer.apt_get)
        .args(options)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("APT_LISTCHANGES_FRONTEND", "none")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| InstallError::Spawn {
            program: installer.apt_get.clone(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no error text")
        .trim();
    Err(InstallError::AptFailed {
        command: format!("apt-get {}", args.join(" ")),
        exit_code: output.status.code(),
        stderr_tail: tail.chars().take(200).collect(),
    })
}

/// Runs `haproxy -v` and parses its first line.
pub fn haproxy_version(haproxy: &Path) -> Result<HaproxyVersion, InstallError> {
    let output = Command::new(haproxy)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| InstallError::Spawn {
            program: haproxy.to_owned(),
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    HaproxyVersion::parse(&text)
        .filter(|_| output.status.success())
        .ok_or_else(|| InstallError::VersionUnreadable {
            haproxy: haproxy.to_owned(),
            output: text.lines().next().unwrap_or("").to_owned(),
        })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parses_from_haproxy_v_output() {
        let cases = [
            (
                "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\nStatus: ...",
                Some("2.6.12-1+deb12u4"),
            ),
            (
                "HAProxy version 2.8.5-1ubuntu3 2024/04/01 - https://haproxy.org/",
                Some("2.8.5-1ubuntu3"),
            ),
            (
                "HA-Proxy version 1.8.8-1ubuntu0.13 2020/12/10",
                Some("1.8.8-1ubuntu0.13"),
            ),
            ("HAProxy version", None),
            ("nginx version: nginx/1.22", None),
            ("HAProxy version $(reboot) x", None),
            ("", None),
        ];
        for (output, expected) in cases {
            assert_eq!(
                HaproxyVersion::parse(output)
                    .as_ref()
                    .map(HaproxyVersion::as_str),
                expected,
                "{output}"
            );
        }
    }
}
