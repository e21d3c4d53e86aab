//! The operator actions (`spec/actions.md`): one function per action, and the dispatcher that
//! reads the parameters, runs the function and reports with `action-set` or `action-fail`.
//!
//! An action's result is `Ok(Results)` (sent with `action-set`, keys checked against Juju's
//! rule, `spec/juju-hook-tools.md` §4.16) or `Err(Failure)` (sent with `action-fail`, exit 0:
//! the task fails, the process does not). A failure message says what went wrong *and* what was
//! not done (spec: "a failing action says what it did not do"). Only a failing hook tool makes
//! the process fail. Names that are not valid Juju keys (server `web-0`, backend `be_api`) are
//! reported inside JSON string results, never as keys.
//!
//! This module never edits `haproxy.cfg`: reconfiguration goes through `crate::reconcile`, and
//! runtime changes through `crate::haproxy`'s typed commands.

pub mod archive;
pub mod endpoints;
pub mod http;
pub mod lifecycle;
pub mod server_state;
pub mod show_config;
pub mod stats;
pub mod version;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::haproxy::runtime::AdminSocket;
use crate::haproxy::Service;
use crate::juju::{ActionContext, Context, HookTools, ToolError};
use crate::reconcile::Settings;

/// What an action hands to `action-set`: Juju-valid keys to string values.
pub type Results = BTreeMap<String, String>;

/// Why an action failed: the message for `action-fail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure(message.into())
    }
}

/// Everything an action may use.
pub struct ActionEnv<'a> {
    pub ctx: &'a Context,
    pub tools: &'a HookTools,
    pub settings: &'a Settings,
}

impl ActionEnv<'_> {
    pub fn service(&self) -> Service {
        Service::new(self.settings.haproxy.clone())
    }

    pub fn admin(&self) -> AdminSocket {
        AdminSocket::new(&self.settings.haproxy.admin_socket)
    }
}

/// Why the dispatcher could not finish. Only hook-tool failures: everything else is reported
/// with `action-fail`.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Tool(#[from] ToolError),
}

/// Every action `actions.yaml` declares, in one list (the dispatcher's and the tests').
pub const ACTIONS: [&str; 9] = [
    "stats",
    "suspend",
    "enable",
    "version",
    "archive-logs",
    "show-config",
    "reload",
    "get-proxied-endpoints",
    "set-server-state",
];

/// Run the action Juju asked for and report its outcome.
pub fn dispatch(
    ctx: &Context,
    tools: &HookTools,
    action: &ActionContext,
    settings: &Settings,
) -> Result<(), DispatchError> {
    let env = ActionEnv {
        ctx,
        tools,
        settings,
    };
    // An undeclared action never reads parameters: it fails before anything else.
    let outcome = if ACTIONS.contains(&action.name.as_str()) {
        let params: serde_json::Value = tools.action_get()?;
        run(&env, &action.name, params)
    } else {
        Err(unknown(&action.name))
    };
    match outcome {
        Ok(results) => {
            tracing::info!(action = %action.name, keys = results.len(), "action succeeded");
            tools.action_set(&results)?;
        }
        Err(Failure(message)) => {
            tracing::warn!(action = %action.name, %message, "action failed");
            tools.action_fail(&message)?;
        }
    }
    Ok(())
}

/// The action by name, its parameters parsed into its own type.
pub fn run(env: &ActionEnv, name: &str, params: serde_json::Value) -> Result<Results, Failure> {
    match name {
        "stats" => stats::stats(env, parse(name, params)?),
        "suspend" => lifecycle::suspend(env, parse(name, params)?),
        "enable" => lifecycle::enable(env, parse(name, params)?),
        "reload" => lifecycle::reload(env, parse(name, params)?),
        "version" => version::version(env, parse(name, params)?),
        "archive-logs" => archive::archive_logs(env, parse(name, params)?),
        "show-config" => show_config::show_config(env, parse(name, params)?),
        "get-proxied-endpoints" => endpoints::get_proxied_endpoints(env, parse(name, params)?),
        "set-server-state" => server_state::set_server_state(env, parse(name, params)?),
        other => Err(unknown(other)),
    }
}

fn unknown(name: &str) -> Failure {
    Failure::new(format!(
        "unknown action {name:?}: this charm's actions are {}; nothing was done",
        ACTIONS.join(", ")
    ))
}

/// No parameters (`additionalProperties: false` in `actions.yaml`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Parse the parameters. Juju has checked them against the schema already; this is the same
/// check again, because a parameter the code does not know must never be silently ignored.
fn parse<T: DeserializeOwned>(action: &str, params: serde_json::Value) -> Result<T, Failure> {
    let params = match params {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        other => other,
    };
    serde_json::from_value(params).map_err(|e| {
        Failure::new(format!(
            "bad parameters for {action}: {e}; nothing was done"
        ))
    })
}

/// One result: a key that is already known to be Juju-valid (a literal in this module).
fn result(results: &mut Results, key: &str, value: impl ToString) {
    results.insert(key.to_owned(), value.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        state: String,
    }

    #[test]
    fn unknown_parameters_are_refused_not_ignored() {
        let err = parse::<Example>(
            "set-server-state",
            serde_json::json!({"state": "drain", "stat": "x"}),
        )
        .unwrap_err();
        assert!(err.0.contains("unknown field `stat`"), "{err}");
        assert!(err.0.ends_with("nothing was done"), "{err}");
    }

    #[test]
    fn missing_parameters_say_which() {
        let err = parse::<Example>("set-server-state", serde_json::json!({})).unwrap_err();
        assert!(err.0.contains("missing field `state`"), "{err}");
    }

    #[test]
    fn no_params_accepts_an_empty_map_and_null() {
        parse::<NoParams>("stats", serde_json::json!({})).unwrap();
        parse::<NoParams>("stats", serde_json::Value::Null).unwrap();
        assert!(parse::<NoParams>("stats", serde_json::json!({"x": 1})).is_err());
    }
}
