//! Machines: each principal unit's own network namespace (joined to a per-model Linux bridge)
//! and the private mount namespace entered for every hook, with per-machine directories bound
//! over the paths a machine charm owns ([`MACHINE_BINDS`]). This module owns the host-side
//! plumbing (`ip`), the subnet allocation across models, and the teardown that kills every
//! process in a model's namespaces. It knows nothing about hooks or relations.
//!
//! Isolated per machine: the network stack (own `eth0` at 198.18.N.(M+10)/24, own `lo`, own
//! ports, no default route) and the directories in [`MACHINE_BINDS`]. Shared with the host:
//! everything else in the filesystem (`/usr`, packages, the rest of `/etc`, `/tmp`), PIDs, users.

use std::ffi::CString;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("`{command}` failed: {stderr}")]
    Ip { command: String, stderr: String },
    #[error("cannot run `ip`: {0} (install iproute2)")]
    NoIp(std::io::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("no free model subnet: all 256 of 198.18.0.0/16 are in use (see {0})")]
    NoFreeSubnet(String),
    #[error("machine {0} is beyond the 244 machines one model subnet holds")]
    TooManyMachines(u32),
    #[error("machines need root (network and mount namespaces); run as root")]
    NotRoot,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MachineError + '_ {
    move |source| MachineError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A host path a machine owns, and the per-machine directory bound over it.
#[derive(Debug, Clone, Copy)]
pub struct MachineBind {
    /// The path inside the machine (a host mount point; created on the host if missing).
    pub target: &'static str,
    /// The directory name under `<model>/machines/<M>/`.
    pub dir: &'static str,
    /// Copy the host directory's content when the machine is created (a fresh machine has
    /// the package's default files, e.g. `/etc/haproxy/errors/*.http`).
    pub seed_from_host: bool,
}

/// What each machine has of its own. Everything else is the host's.
pub const MACHINE_BINDS: &[MachineBind] = &[
    MachineBind {
        target: "/etc/haproxy",
        dir: "etc-haproxy",
        seed_from_host: true,
    },
    MachineBind {
        target: "/run",
        dir: "run",
        seed_from_host: false,
    },
    MachineBind {
        target: "/var/lib/haproxy",
        dir: "var-lib-haproxy",
        seed_from_host: true,
    },
    MachineBind {
        target: "/var/lib/haproxy-lb",
        dir: "var-lib-haproxy-lb",
        seed_from_host: false,
    },
    MachineBind {
        target: "/var/log",
        dir: "var-log",
        seed_from_host: false,
    },
];

/// Where models record which subnet index they hold (host `/run`, cleared on reboot).
pub const ALLOCATION_DIR: &str = "/run/jujusim/nets";

pub fn require_root() -> Result<(), MachineError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(MachineError::NotRoot)
    }
}

/// Whether `path` lies under one of the bound directories (a model there would be hidden
/// from its own hooks).
pub fn is_under_bound_path(path: &Path) -> bool {
    MACHINE_BINDS.iter().any(|b| path.starts_with(b.target))
}

pub fn bridge_name(net: u8) -> String {
    format!("jsim{net}")
}
pub fn netns_name(net: u8, machine: u32) -> String {
    format!("jsim{net}-{machine}")
}
fn host_veth_name(net: u8, machine: u32) -> String {
    format!("js{net}h{machine}")
}
pub fn machine_address(net: u8, machine: u32) -> Result<String, MachineError> {
    if machine > 244 {
        return Err(MachineError::TooManyMachines(machine));
    }
    Ok(format!("198.18.{net}.{}", machine + 10))
}
pub fn subnet_cidr(net: u8) -> String {
    format!("198.18.{net}.0/24")
}
pub fn mac_address(net: u8, machine: u32) -> String {
    format!("00:16:3e:12:{net:02x}:{:02x}", machine & 0xff)
}

fn ip(args: &[&str]) -> Result<(), MachineError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(MachineError::NoIp)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(MachineError::Ip {
            command: format!("ip {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Allocates a subnet index for the model at `model_root` under a host-wide lock, reclaiming
/// indexes whose model directory is gone, and creates the bridge `jsim<N>` with 198.18.N.1/24.
pub fn create_network(model_root: &Path) -> Result<u8, MachineError> {
    require_root()?;
    let dir = Path::new(ALLOCATION_DIR);
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let lock_path = dir.join("lock");
    let lock_file = File::create(&lock_path).map_err(io_err(&lock_path))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive).map_err(
        |(_, e)| MachineError::Io {
            path: lock_path.display().to_string(),
            source: e.into(),
        },
    )?;
    let mut chosen = None;
    for n in 0..=255u8 {
        let slot = dir.join(n.to_string());
        match std::fs::read_to_string(&slot) {
            Err(_) => {
                chosen = Some(n);
                break;
            }
            Ok(owner) => {
                let owner = PathBuf::from(owner.trim());
                if owner == model_root || !owner.join("model.json").exists() {
                    // A model that no longer exists: reclaim its leftovers too.
                    destroy_network_links(n);
                    chosen = Some(n);
                    break;
                }
            }
        }
    }
    let n = chosen.ok_or_else(|| MachineError::NoFreeSubnet(ALLOCATION_DIR.into()))?;
    let slot = dir.join(n.to_string());
    std::fs::write(&slot, model_root.as_os_str().as_encoded_bytes()).map_err(io_err(&slot))?;
    let bridge = bridge_name(n);
    if link_exists(&bridge) {
        ip(&["link", "del", &bridge])?;
    }
    ip(&["link", "add", &bridge, "type", "bridge"])?;
    ip(&["addr", "add", &format!("198.18.{n}.1/24"), "dev", &bridge])?;
    ip(&["link", "set", &bridge, "up"])?;
    Ok(n)
}

fn destroy_network_links(n: u8) {
    for entry in std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix(&format!("jsim{n}-")) {
            if let Ok(m) = rest.parse::<u32>() {
                let _ = destroy_machine(n, m);
            }
        }
    }
    let bridge = bridge_name(n);
    if link_exists(&bridge) {
        let _ = ip(&["link", "del", &bridge]);
    }
}

/// Removes the bridge and frees the subnet index (machines must be destroyed first).
pub fn destroy_network(n: u8, model_root: &Path) {
    destroy_network_links(n);
    let slot = Path::new(ALLOCATION_DIR).join(n.to_string());
    if let Ok(owner) = std::fs::read_to_string(&slot) {
        if Path::new(owner.trim()) == model_root {
            let _ = std::fs::remove_file(slot);
        }
    }
}

/// Creates machine `m`: its netns with `lo` and `eth0` (veth into the bridge), and its
/// directories under `machine_dir`, seeded per [`MACHINE_BINDS`].
pub fn create_machine(net: u8, m: u32, machine_dir: &Path) -> Result<String, MachineError> {
    require_root()?;
    let address = machine_address(net, m)?;
    for bind in MACHINE_BINDS {
        let dir = machine_dir.join(bind.dir);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let target = Path::new(bind.target);
        if !target.exists() {
            std::fs::create_dir_all(target).map_err(io_err(target))?;
        }
        if bind.seed_from_host {
            let mut src = target.as_os_str().to_owned();
            src.push("/.");
            let _ = Command::new("cp").arg("-a").arg(src).arg(&dir).status();
        }
    }
    let run = machine_dir.join("run");
    let _ = std::fs::create_dir_all(run.join("lock"));
    let _ = std::os::unix::fs::symlink("/dev/shm", run.join("shm"));

    let ns = netns_name(net, m);
    let host = host_veth_name(net, m);
    if Path::new("/run/netns").join(&ns).exists() {
        let _ = destroy_machine(net, m);
    }
    ip(&["netns", "add", &ns])?;
    ip(&[
        "link", "add", &host, "type", "veth", "peer", "name", "eth0", "netns", &ns,
    ])?;
    ip(&["link", "set", &host, "master", &bridge_name(net), "up"])?;
    ip(&["-n", &ns, "link", "set", "lo", "up"])?;
    ip(&[
        "-n",
        &ns,
        "link",
        "set",
        "eth0",
        "address",
        &mac_address(net, m),
    ])?;
    ip(&[
        "-n",
        &ns,
        "addr",
        "add",
        &format!("{address}/24"),
        "dev",
        "eth0",
    ])?;
    ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
    Ok(address)
}

/// The (device, inode) of a namespace file, to compare with `/proc/<pid>/ns/net`.
fn ns_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// PIDs of every process whose network namespace is `ns`.
pub fn processes_in_netns(ns: &str) -> Vec<i32> {
    let Some(target) = ns_id(&Path::new("/run/netns").join(ns)) else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if ns_id(&entry.path().join("ns/net")) == Some(target) {
            pids.push(pid);
        }
    }
    pids
}

/// Kills every process in the machine's netns, then removes the netns (and with it the veth).
pub fn destroy_machine(net: u8, m: u32) -> Result<(), MachineError> {
    let ns = netns_name(net, m);
    kill_machine_processes(net, m);
    if Path::new("/run/netns").join(&ns).exists() {
        ip(&["netns", "del", &ns])?;
    }
    // Deleting the netns removes the veth pair, asynchronously: a leftover is best effort.
    let host = host_veth_name(net, m);
    if link_exists(&host) {
        let _ = ip(&["link", "del", &host]);
    }
    Ok(())
}

/// SIGKILLs every process in machine `m`'s netns until none is left (bounded: 1 s).
pub fn kill_machine_processes(net: u8, m: u32) {
    let ns = netns_name(net, m);
    for _ in 0..50 {
        let pids = processes_in_netns(&ns);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Everything a child needs to enter a machine before `exec`: prepared in the parent so the
/// child only makes system calls (no allocation after `fork`).
pub struct MachineEntry {
    netns: File,
    binds: Vec<(CString, CString)>,
    root: CString,
}

impl MachineEntry {
    pub fn prepare(net: u8, m: u32, machine_dir: &Path) -> Result<MachineEntry, MachineError> {
        let ns_path = Path::new("/run/netns").join(netns_name(net, m));
        let netns = File::open(&ns_path).map_err(io_err(&ns_path))?;
        let mut binds = Vec::new();
        for bind in MACHINE_BINDS {
            let src = machine_dir.join(bind.dir);
            let to_c = |p: &Path| {
                CString::new(p.as_os_str().as_encoded_bytes()).map_err(|e| MachineError::Io {
                    path: p.display().to_string(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
                })
            };
            binds.push((to_c(&src)?, to_c(Path::new(bind.target))?));
        }
        Ok(MachineEntry {
            netns,
            binds,
            root: c"/".to_owned(),
        })
    }

    /// Joins the netns, unshares a private mount namespace and binds the machine directories.
    /// Runs in the child between fork and exec.
    pub fn enter(&self) -> std::io::Result<()> {
        use nix::mount::{mount, MsFlags};
        use nix::sched::{setns, unshare, CloneFlags};
        setns(&self.netns, CloneFlags::CLONE_NEWNET)?;
        unshare(CloneFlags::CLONE_NEWNS)?;
        mount(
            None::<&std::ffi::CStr>,
            self.root.as_c_str(),
            None::<&std::ffi::CStr>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&std::ffi::CStr>,
        )?;
        for (src, target) in &self.binds {
            mount(
                Some(src.as_c_str()),
                target.as_c_str(),
                None::<&std::ffi::CStr>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&std::ffi::CStr>,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fit_the_kernel_limit() {
        assert!(bridge_name(255).len() <= 15);
        assert!(host_veth_name(255, 244).len() <= 15);
        assert!(netns_name(255, 244).len() <= 15);
    }

    #[test]
    fn addresses_follow_the_machine_number() {
        assert_eq!(machine_address(3, 0).unwrap(), "198.18.3.10");
        assert_eq!(machine_address(3, 244).unwrap(), "198.18.3.254");
        assert!(machine_address(3, 245).is_err());
    }

    #[test]
    fn bound_paths_are_detected() {
        assert!(is_under_bound_path(Path::new("/var/log/x")));
        assert!(is_under_bound_path(Path::new("/run/foo")));
        assert!(!is_under_bound_path(Path::new("/tmp/model")));
        assert!(!is_under_bound_path(Path::new("/var/lib/other")));
    }
}
