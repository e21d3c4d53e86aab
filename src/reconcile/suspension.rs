//! The operator's suspension (`spec/actions.md` `suspend`/`enable`): a flag file under
//! `Settings.state_dir` (which survives hooks and reboots), and what every reconcile does while
//! it is set.
//!
//! Mechanism: while suspended HAProxy is **stopped** (the spec allows either that or disabling
//! every frontend). Stopping is the one way that provably stops *all* traffic (HTTP and TCP
//! frontends, the stats listener, `/metrics`) without a second rendering of `haproxy.cfg`, and a
//! reboot cannot bring it back: the reconcile after boot sees the flag and keeps it stopped. The
//! server state is dumped first, so operator drains/maintenance come back on `enable`
//! (`spec/haproxy.md` §4). Config, relations and generated files are kept and kept current: a
//! config change while suspended is rendered into the next `enable`, never served before it.
//!
//! This module owns the flag file; it never renders or installs a config.

use super::{ReconcileError, Settings};
use crate::haproxy::service::World;
use crate::haproxy::{Service, ServiceError, State};
use crate::juju::{HookTools, WorkloadStatus};
use std::path::{Path, PathBuf};

/// The status message while suspended (`spec/actions.md`, word for word).
pub const STATUS: &str = "suspended by operator (run the enable action to resume)";

pub fn flag_path(state_dir: &Path) -> PathBuf {
    state_dir.join("suspended")
}

pub fn is_suspended(state_dir: &Path) -> bool {
    flag_path(state_dir).exists()
}

/// Set or clear the flag; `Ok(true)` when it changed. Written with fsync + rename so a crash
/// never leaves a half state.
pub fn set(state_dir: &Path, suspended: bool) -> std::io::Result<bool> {
    let path = flag_path(state_dir);
    if suspended == path.exists() {
        return Ok(false);
    }
    if suspended {
        std::fs::create_dir_all(state_dir)?;
        crate::haproxy::config::replace_file(&path, b"suspended by operator\n")
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    } else {
        std::fs::remove_file(&path)?;
    }
    Ok(true)
}

#[derive(Debug, thiserror::Error)]
pub enum SuspendError {
    #[error("cannot stop haproxy: {0}")]
    Stop(#[from] ServiceError),
}

/// Stop HAProxy if it runs, keeping the operator's server states for the next start.
pub fn stop_serving(settings: &Settings) -> Result<bool, SuspendError> {
    let service = Service::new(settings.haproxy.clone());
    let running = !matches!(service.state(), State::Stopped);
    if running {
        if let Err(e) = service.dump_server_state() {
            tracing::warn!(error = %e, "could not save the server state before stopping");
        }
        service.stop()?;
        tracing::info!("haproxy stopped: the unit is suspended");
    }
    if service.world() == World::Systemd {
        // An enabled unit would start HAProxy at the next boot, before any hook could hold it
        // (`spec/haproxy.md` §1); `enable` → `Service::start` enables it again.
        match std::process::Command::new("systemctl")
            .args(["disable", "haproxy"])
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => tracing::warn!(
                stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                "systemctl disable haproxy failed; HAProxy may start at boot until a hook stops it"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot run systemctl disable haproxy"),
        }
    }
    Ok(running)
}

/// What a reconcile does instead of applying the plan while suspended: HAProxy stays stopped,
/// every opened port is closed, the status says so.
pub fn hold(tools: &HookTools, settings: &Settings) -> Result<(), ReconcileError> {
    if let Err(e) = stop_serving(settings) {
        tracing::error!(error = %e, "suspended, but haproxy could not be stopped");
    }
    for range in tools.opened_ports()? {
        tools.close_port(range)?;
    }
    tools.status_set(WorkloadStatus::Maintenance, STATUS)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_survives_as_a_file_and_setting_twice_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        assert!(!is_suspended(&state));
        assert!(set(&state, true).unwrap());
        assert!(is_suspended(&state));
        assert!(!set(&state, true).unwrap());
        assert!(set(&state, false).unwrap());
        assert!(!set(&state, false).unwrap());
        assert!(!is_suspended(&state));
    }
}
