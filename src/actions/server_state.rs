//! `set-server-state` (`spec/actions.md`): put one backend server in `ready`, `drain` or
//! `maint` through the runtime API, without a reload, and remember it
//! (`crate::reconcile::operator_state`) so reloads, restarts and reboots keep it.
//!
//! The names are checked twice before anything reaches the socket: they must be valid HAProxy
//! names (the plan's newtypes: no space, `;` or newline can pass, `spec/haproxy.md` §4
//! Security), and the server must exist in what HAProxy serves now (`show stat`).

use super::{result, ActionEnv, Failure, Results};
use crate::haproxy::runtime::ServerAdminState;
use crate::haproxy::RuntimeCommand;
use crate::plan::{show, ProxyName, ServerName};
use crate::reconcile::operator_state;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateParam {
    Ready,
    Drain,
    Maint,
}

impl From<StateParam> for ServerAdminState {
    fn from(s: StateParam) -> Self {
        match s {
            StateParam::Ready => ServerAdminState::Ready,
            StateParam::Drain => ServerAdminState::Drain,
            StateParam::Maint => ServerAdminState::Maint,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub backend: String,
    pub server: String,
    pub state: StateParam,
}

pub fn set_server_state(env: &ActionEnv, params: Params) -> Result<Results, Failure> {
    let not_done = "no server state was changed";
    let backend = ProxyName::new(&params.backend).map_err(|e| {
        Failure::new(format!(
            "backend {} is not a valid name: {e}; {not_done}",
            show(&params.backend)
        ))
    })?;
    let server = ServerName::new(&params.server).map_err(|e| {
        Failure::new(format!(
            "server {} is not a valid name: {e}; {not_done}",
            show(&params.server)
        ))
    })?;
    let admin = env.admin();
    let rows = admin.show_stat().map_err(|e| {
        Failure::new(format!(
            "HAProxy is not running or its runtime socket does not answer ({e}); {not_done}{}",
            super::lifecycle::suspended_hint(env)
        ))
    })?;
    let servers_of = |b: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.proxy() == b && r.service() != "FRONTEND" && r.service() != "BACKEND")
            .map(|r| r.service().to_owned())
            .collect()
    };
    if !rows
        .iter()
        .any(|r| r.proxy() == backend.as_str() && r.service() == "BACKEND")
    {
        let mut backends: Vec<&str> = rows
            .iter()
            .filter(|r| r.service() == "BACKEND")
            .map(|r| r.proxy())
            .collect();
        backends.dedup();
        return Err(Failure::new(format!(
            "unknown backend {}: HAProxy serves {}; {not_done}",
            show(backend.as_str()),
            list(&backends)
        )));
    }
    let known = servers_of(backend.as_str());
    if !known.iter().any(|s| s == server.as_str()) {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        return Err(Failure::new(format!(
            "unknown server {} in backend {}: it has {}; {not_done}",
            show(server.as_str()),
            backend,
            list(&known)
        )));
    }
    let state: ServerAdminState = params.state.into();
    let command = RuntimeCommand::SetState {
        backend: backend.clone(),
        server: server.clone(),
        state,
    };
    admin
        .apply(&command)
        .map_err(|e| Failure::new(format!("HAProxy refused `{command}`: {e}; {not_done}")))?;
    let mut results = Results::new();
    if let Err(e) = operator_state::remember(
        &env.settings.state_dir,
        backend.as_str(),
        server.as_str(),
        state,
    ) {
        // Applied but not remembered: a reload keeps it (state file), a restart would not.
        return Err(Failure::new(format!(
            "`{command}` was applied, but it could not be remembered in {}: {e}; a reload keeps it, a restart or reboot would not",
            operator_state::path(&env.settings.state_dir).display()
        )));
    }
    let status = admin
        .show_stat()
        .ok()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r.proxy() == backend.as_str() && r.service() == server.as_str())
                .map(|r| r.status().to_owned())
        })
        .unwrap_or_default();
    result(&mut results, "server", format!("{backend}/{server}"));
    result(&mut results, "state", operator_state::state_name(state));
    result(&mut results, "status", status);
    result(&mut results, "command", &command);
    Ok(results)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
