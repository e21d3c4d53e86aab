//! The hook and action entry points: what every hook does (the holistic pattern, DESIGN "The
//! flow of one hook") and where actions are routed. For now a hook makes sure HAProxy is
//! installed and sets a status that says what is true; the reconcile (gather, plan, render,
//! apply, publish) plugs in at [`run_hook_with`]. Never reads the environment and never runs a
//! process itself: it works through `juju::HookTools` and `install`.

use thiserror::Error;
use tracing::{info, warn};

use crate::install::{self, InstallError, Installer};
use crate::juju::{ActionContext, Context, HookTools, ToolError, WorkloadStatus};

/// Why a hook or action failed. Returning it makes the process exit 1, so Juju marks the hook
/// failed, commits nothing and retries (spec §1.5).
#[derive(Debug, Error)]
pub enum HookError {
    #[error("hook tool failed: {0}")]
    Tool(#[from] ToolError),
}

/// Runs a hook with the real `apt-get` and `haproxy`.
pub fn run_hook(ctx: &Context, tools: &HookTools) -> Result<(), HookError> {
    run_hook_with(ctx, tools, &Installer::for_context(ctx))
}

/// Runs a hook with the given installer (tests inject fakes).
pub fn run_hook_with(
    ctx: &Context,
    tools: &HookTools,
    installer: &Installer,
) -> Result<(), HookError> {
    let hook = ctx.hook_name().unwrap_or("");
    // Teardown hooks must not (re)install the package the unit is leaving behind.
    if matches!(hook, "stop" | "remove") {
        info!(hook, "nothing to do while the unit is going away");
        return Ok(());
    }
    let version = match install::ensure_haproxy(installer, tools) {
        Ok(version) => version,
        Err(InstallError::Tool(err)) => return Err(err.into()),
        Err(err) => {
            // Exit 0 with `blocked`: the next hook (at worst update-status, every 5 minutes)
            // tries again, and an operator sees why meanwhile.
            warn!(hook, "cannot install haproxy: {err}");
            tools.status_set(
                WorkloadStatus::Blocked,
                &format!("cannot install haproxy: {err}"),
            )?;
            return Ok(());
        }
    };
    tools.application_version_set(version.as_str())?;
    tools.status_set(
        WorkloadStatus::Waiting,
        &format!("haproxy {version} installed; no load-balancing configuration applied yet"),
    )?;
    Ok(())
}

/// Runs an action. `actions.yaml` declares none yet, so Juju never starts one; a stray call
/// fails the action with a reason rather than the process.
pub fn run_action(
    _ctx: &Context,
    tools: &HookTools,
    action: &ActionContext,
) -> Result<(), HookError> {
    warn!(action = %action.name, "unknown action");
    tools.action_fail(&format!(
        "unknown action {:?}: this charm declares no actions",
        action.name
    ))?;
    Ok(())
}
