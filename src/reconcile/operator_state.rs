//! Server states an operator set with the `set-server-state` action (`drain`, `maint`), kept
//! under `Settings.state_dir` so they outlive the runtime API.
//!
//! A reload keeps them through the server-state file (`spec/haproxy.md` §4, dumped by
//! `haproxy::Service::reload`), but a stop/start (suspend/enable) or a reboot (the state file
//! is on `/run`) would not: so every reconcile re-applies them through the runtime API after a
//! successful apply, and forgets the ones whose server is no longer in the plan (a server that
//! comes back later starts `ready`). `ready` is the default and is stored as "no entry".
//!
//! Commands are built only from the plan's validated names and the typed state (§4 Security).

use crate::haproxy::runtime::AdminSocket;
use crate::haproxy::runtime::ServerAdminState;
use crate::haproxy::RuntimeCommand;
use crate::plan::LoadBalancerPlan;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `backend/server` → `drain` | `maint`.
pub type OperatorStates = BTreeMap<String, String>;

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("server-states.json")
}

pub fn key(backend: &str, server: &str) -> String {
    format!("{backend}/{server}")
}

pub fn load(state_dir: &Path) -> OperatorStates {
    std::fs::read(path(state_dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn save(state_dir: &Path, states: &OperatorStates) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    let text = serde_json::to_vec_pretty(states).map_err(std::io::Error::other)?;
    crate::haproxy::config::replace_file(&path(state_dir), &text)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

pub fn state_name(state: ServerAdminState) -> &'static str {
    match state {
        ServerAdminState::Ready => "ready",
        ServerAdminState::Drain => "drain",
        ServerAdminState::Maint => "maint",
    }
}

fn parse_state(text: &str) -> Option<ServerAdminState> {
    match text {
        "ready" => Some(ServerAdminState::Ready),
        "drain" => Some(ServerAdminState::Drain),
        "maint" => Some(ServerAdminState::Maint),
        _ => None,
    }
}

/// Remember what the operator asked for.
pub fn remember(
    state_dir: &Path,
    backend: &str,
    server: &str,
    state: ServerAdminState,
) -> std::io::Result<()> {
    let mut states = load(state_dir);
    match state {
        ServerAdminState::Ready => states.remove(&key(backend, server)),
        other => states.insert(key(backend, server), state_name(other).to_owned()),
    };
    save(state_dir, &states)
}

/// Apply every remembered state whose server is in `plan` (HAProxy must be serving `plan`);
/// forget the others. Failures are logged: the next reconcile tries again.
pub fn reassert(state_dir: &Path, admin: &AdminSocket, plan: &LoadBalancerPlan) {
    let states = load(state_dir);
    if states.is_empty() {
        return;
    }
    let mut kept = OperatorStates::new();
    for backend in &plan.backends {
        for server in &backend.servers {
            let k = key(backend.name.as_str(), server.name.as_str());
            let Some(state) = states.get(&k).and_then(|s| parse_state(s)) else {
                continue;
            };
            kept.insert(k, state_name(state).to_owned());
            let command = RuntimeCommand::SetState {
                backend: backend.name.clone(),
                server: server.name.clone(),
                state,
            };
            match admin.apply(&command) {
                Ok(()) => tracing::debug!(%command, "operator server state re-applied"),
                Err(e) => tracing::warn!(%command, error = %e, "cannot re-apply operator state"),
            }
        }
    }
    for gone in states.keys().filter(|k| !kept.contains_key(*k)) {
        tracing::info!(server = %gone, "forgetting the operator state of a server that is gone");
    }
    if kept != states {
        if let Err(e) = save(state_dir, &kept) {
            tracing::warn!(error = %e, "cannot save the operator server states");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_is_stored_as_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        remember(dir.path(), "be_web", "web-0", ServerAdminState::Drain).unwrap();
        remember(dir.path(), "be_web", "web-1", ServerAdminState::Maint).unwrap();
        assert_eq!(load(dir.path()).len(), 2);
        assert_eq!(load(dir.path())["be_web/web-0"], "drain");
        remember(dir.path(), "be_web", "web-0", ServerAdminState::Ready).unwrap();
        assert_eq!(
            load(dir.path()).into_iter().collect::<Vec<_>>(),
            vec![("be_web/web-1".to_owned(), "maint".to_owned())]
        );
    }

    #[test]
    fn a_missing_or_corrupt_file_means_no_states() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).is_empty());
        std::fs::write(path(dir.path()), "{not json").unwrap();
        assert!(load(dir.path()).is_empty());
    }
}
