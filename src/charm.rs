//! The hook and action entry points: what every hook does (the holistic pattern, DESIGN "The
//! flow of one hook") and where actions are routed. A hook makes sure HAProxy is installed,
//! then runs the one reconcile (`crate::reconcile`: gather, plan, render, apply, publish).
//! Never reads the environment: it works through `juju::HookTools`, `install` and `reconcile`.

use thiserror::Error;
use tracing::{info, warn};

use crate::install::{self, InstallError, Installer};
use crate::juju::{ActionContext, Context, HookTools, ToolError, WorkloadStatus};
use crate::lock;
use crate::reconcile::{self, ReconcileError, Settings};

/// Why a hook or action failed. Returning it makes the process exit 1, so Juju marks the hook
/// failed, commits nothing and retries (spec §1.5).
#[derive(Debug, Error)]
pub enum HookError {
    #[error("hook tool failed: {0}")]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error("cannot stop haproxy: {0}")]
    Stop(#[from] crate::haproxy::ServiceError),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

/// Runs a hook with the real `apt-get` and `haproxy`.
pub fn run_hook(ctx: &Context, tools: &HookTools) -> Result<(), HookError> {
    run_hook_with(
        ctx,
        tools,
        &Installer::for_context(ctx),
        &Settings::debian(),
    )
}

/// Runs a hook with the given installer (tests inject fakes).
pub fn run_hook_with(
    ctx: &Context,
    tools: &HookTools,
    installer: &Installer,
    settings: &Settings,
) -> Result<(), HookError> {
    let hook = ctx.hook_name().unwrap_or("");
    // One mutating run at a time per unit (`juju exec` does not take Juju's lock): `lock`.
    let _lock = lock::acquire(
        &lock::path_in(&settings.state_dir),
        &format!("hook {hook}"),
        lock::DEFAULT_WAIT,
    )?;
    // Teardown hooks must not (re)install the package the unit is leaving behind. `stop` runs
    // after every relation is gone (spec §2.3): the unit serves nothing any more.
    if hook == "stop" {
        info!("stopping haproxy: the unit is going away");
        crate::haproxy::Service::new(settings.haproxy.clone()).stop()?;
        return Ok(());
    }
    if hook == "remove" {
        info!(hook, "nothing to do while the unit is going away");
        return Ok(());
    }
    // `haproxy -v` and `application-version-set` matter only where the package may have
    // appeared or changed: install, upgrade-charm, the periodic update-status (an operator's
    // `apt upgrade`), or a binary gone missing. Elsewhere they cost two processes per hook for
    // nothing (bench/RESULTS.md: 7.5 ms of a 40 ms hook).
    let check_package = matches!(hook, "install" | "upgrade-charm" | "update-status")
        || !installer.haproxy.exists();
    if check_package && !ensure_installed(tools, installer)? {
        return Ok(());
    }
    reconcile::reconcile(ctx, tools, settings)?;
    Ok(())
}

/// Make sure HAProxy is installed and its version reported. `Ok(false)`: it cannot be installed
/// now; the unit is `blocked` with the reason and the hook exits 0, so the next hook (at worst
/// update-status, every 5 minutes) tries again while an operator sees why.
pub fn ensure_installed(tools: &HookTools, installer: &Installer) -> Result<bool, HookError> {
    let version = match install::ensure_haproxy(installer, tools) {
        Ok(version) => version,
        Err(InstallError::Tool(err)) => return Err(err.into()),
        Err(err) => {
            warn!("cannot install haproxy: {err}");
            tools.status_set(
                WorkloadStatus::Blocked,
                &format!("cannot install haproxy: {err}"),
            )?;
            return Ok(false);
        }
    };
    tools.application_version_set(version.as_str())?;
    Ok(true)
}

/// Actions that change HAProxy or the charm's files (`actions.yaml`).
const MUTATING_ACTIONS: &[&str] = &[
    "suspend",
    "enable",
    "reload",
    "set-server-state",
    "archive-logs",
];

/// Runs an action: `crate::actions` reads its parameters, runs it and reports with
/// `action-set`/`action-fail` (a failed action exits 0; only a failing hook tool fails the
/// process).
pub fn run_action(
    ctx: &Context,
    tools: &HookTools,
    action: &ActionContext,
) -> Result<(), HookError> {
    run_action_with(ctx, tools, action, &Settings::debian())
}

/// Runs an action with the given settings (tests use temp dirs).
pub fn run_action_with(
    ctx: &Context,
    tools: &HookTools,
    action: &ActionContext,
    settings: &Settings,
) -> Result<(), HookError> {
    // Actions that change HAProxy or the charm's files run one at a time with hooks (`lock`);
    // read-only ones (stats, version, show-config, get-proxied-endpoints) never wait.
    let _lock = if MUTATING_ACTIONS.contains(&action.name.as_str()) {
        Some(lock::acquire(
            &lock::path_in(&settings.state_dir),
            &format!("action {}", action.name),
            lock::DEFAULT_WAIT,
        )?)
    } else {
        None
    };
    crate::actions::dispatch(ctx, tools, action, settings).map_err(|e| match e {
        crate::actions::DispatchError::Tool(e) => HookError::Tool(e),
    })
}
