//! HAProxy itself: validate and install a config, start/reload/stop the service and verify it,
//! and talk to the runtime API. Never reads relation data or Juju. Owner: issue 5.
//!
//! [`apply`] is the one entry point a hook uses: render, stage (`haproxy -c`), pre-check,
//! install, start or reload, verify, keep last-good. It never leaves HAProxy worse than it was
//! (`DESIGN.md`): a rejected candidate is not installed, a failed reload puts last-good back,
//! and a HAProxy that died in a reload is started again on last-good.

pub mod config;
pub mod paths;
pub mod runtime;
pub mod service;
pub mod snapshot;

pub use config::ConfigError;
pub use paths::Paths;
pub use runtime::{changes, Changes, ReloadReason, RuntimeCommand};
pub use service::{ReloadOutcome, ReloadPolicy, Service, ServiceError, State};

use crate::plan::{InvalidValue, LoadBalancerPlan};
use crate::render::{render, RenderError};

/// What `apply` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The rendered config equals the live one and HAProxy runs: no write, no reload.
    Unchanged,
    /// HAProxy was not running and now serves the config.
    Started { warnings: Vec<String> },
    /// The new config is installed and a verified reload took it.
    Reloaded { reloads: u32, warnings: Vec<String> },
    /// Only server weights changed: the new config is installed (so the next reload keeps
    /// them) and the runtime API applied these commands; no reload (`DESIGN.md` rule 7).
    RuntimeUpdated { commands: Vec<RuntimeCommand> },
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("a runtime path cannot go into haproxy.cfg: {0}")]
    Paths(#[from] InvalidValue),
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Nothing was installed: the running config keeps serving.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The new config was installed but the reload did not take; last-good was put back
    /// (`restored`), and HAProxy restarted on it if the reload had killed it.
    #[error("reload not verified: {outcome:?}; last-good restored: {restored}")]
    ReloadFailed {
        outcome: ReloadOutcome,
        restored: bool,
    },
}

/// Check `plan` with `haproxy -c` without installing or touching anything live: the rendered
/// text goes to a scratch file beside the candidate and is removed afterwards. Used to find
/// which service of a refused candidate HAProxy objects to.
pub fn check(paths: &Paths, plan: &LoadBalancerPlan) -> Result<Vec<String>, ApplyError> {
    let files = paths.runtime_files()?;
    let text = render(plan, &files)?;
    let scratch = paths.candidate.with_extension("check");
    if let Some(dir) = scratch.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ConfigError::Io {
            action: "creating",
            path: dir.to_owned(),
            source,
        })?;
    }
    std::fs::write(&scratch, text.as_bytes()).map_err(|source| ConfigError::Io {
        action: "writing",
        path: scratch.clone(),
        source,
    })?;
    let result = config::validate(&paths.haproxy_bin, &scratch);
    let _ = std::fs::remove_file(&scratch);
    Ok(result?)
}

/// The points of [`apply`] where a crash leaves a distinct state on disk (`spec/haproxy.md` §2
/// steps 1-4). [`apply_observed`] reports each one as it is passed; crash tests stop the
/// process there (issue 10 item 3). Nothing else may depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The candidate is written, fsynced and accepted by `haproxy -c`; the live file is as it was.
    Validated,
    /// The candidate was renamed over the live file (and the directory fsynced).
    Installed,
    /// About to ask the master to reload the installed file.
    Reloading,
    /// The reload is verified; last-good is not updated yet.
    Reloaded,
}

/// Make HAProxy serve `plan`, or leave it as it was and say why.
pub fn apply(service: &Service, plan: &LoadBalancerPlan) -> Result<ApplyOutcome, ApplyError> {
    apply_observed(service, plan, &|_| {})
}

/// [`apply`], calling `at` at each [`Step`] it passes.
pub fn apply_observed(
    service: &Service,
    plan: &LoadBalancerPlan,
    at: &dyn Fn(Step),
) -> Result<ApplyOutcome, ApplyError> {
    let paths = &service.paths;
    let files = paths.runtime_files()?;
    let text = render(plan, &files)?;
    service.prepare()?;
    let serving = matches!(service.state(), State::Running(_));
    let warnings = match config::stage(paths, text.as_bytes())? {
        config::Staged::Unchanged if serving && config::live_is_last_good(paths) => {
            return Ok(ApplyOutcome::Unchanged)
        }
        config::Staged::Unchanged if serving => {
            // Installed by a run that died before its reload was verified (crash between
            // rename and reload): HAProxy may still run the previous file. Reload it now.
            tracing::warn!("haproxy.cfg was installed but its reload never verified; reloading");
            return reload_installed(service, plan, Vec::new(), at);
        }
        config::Staged::Unchanged => {
            // The file is right but nothing serves it (e.g. after a reboot): start.
            service.start()?;
            config::mark_good(paths)?;
            snapshot::save(&paths.plan_snapshot, plan);
            return Ok(ApplyOutcome::Started {
                warnings: Vec::new(),
            });
        }
        config::Staged::Ready { warnings } => warnings,
    };
    at(Step::Validated);
    for warning in &warnings {
        tracing::warn!("haproxy -c: {warning}");
    }
    if let Err(e) = config::precheck(paths, plan, serving) {
        let _ = std::fs::remove_file(&paths.candidate);
        return Err(e.into());
    }
    if serving {
        if let Some(outcome) = try_runtime_update(service, plan, &warnings, at)? {
            return Ok(outcome);
        }
    }
    config::install(paths)?;
    at(Step::Installed);
    if !serving {
        return match service.start() {
            Ok(_) => {
                config::mark_good(paths)?;
                snapshot::save(&paths.plan_snapshot, plan);
                Ok(ApplyOutcome::Started { warnings })
            }
            Err(e) => {
                if config::restore_last_good(paths).is_ok() {
                    let _ = service.start();
                }
                Err(e.into())
            }
        };
    }
    reload_installed(service, plan, warnings, at)
}

/// When the staged candidate differs from what runs only in server weights: install it and
/// apply the weights through the runtime API. `None` = a reload is needed (including when a
/// socket command failed: the reload brings the file's state in).
fn try_runtime_update(
    service: &Service,
    plan: &LoadBalancerPlan,
    warnings: &[String],
    at: &dyn Fn(Step),
) -> Result<Option<ApplyOutcome>, ApplyError> {
    let paths = &service.paths;
    let Some(previous) = snapshot::previous_if_same_shape(&paths.plan_snapshot, plan) else {
        return Ok(None);
    };
    let Changes::Runtime(commands) = changes(&previous, plan) else {
        return Ok(None);
    };
    // Write the file first, so a later reload or restart keeps the new weights.
    config::install(paths)?;
    at(Step::Installed);
    let admin = service.admin();
    for command in &commands {
        if let Err(e) = admin.apply(command) {
            let reason = ReloadReason::RuntimeFailed(format!("{command}: {e}"));
            tracing::warn!(%reason, "falling back to a reload");
            snapshot::forget(&paths.plan_snapshot);
            // The candidate is installed already; the caller reloads it.
            return reload_installed(service, plan, warnings.to_vec(), at).map(Some);
        }
        tracing::info!(%command, "applied through the runtime API");
    }
    config::mark_good(paths)?;
    snapshot::save(&paths.plan_snapshot, plan);
    Ok(Some(ApplyOutcome::RuntimeUpdated { commands }))
}

/// Reload the installed config, verify it, and keep last-good or put it back.
fn reload_installed(
    service: &Service,
    plan: &LoadBalancerPlan,
    warnings: Vec<String>,
    at: &dyn Fn(Step),
) -> Result<ApplyOutcome, ApplyError> {
    let paths = &service.paths;
    at(Step::Reloading);
    let outcome = match service.reload() {
        Ok(outcome) => outcome,
        Err(e) => {
            // Nothing reloaded: the live file must match what runs, or the next hook would
            // see "unchanged" and never apply it.
            snapshot::forget(&paths.plan_snapshot);
            let _ = config::restore_last_good(paths);
            return Err(e.into());
        }
    };
    match outcome {
        ReloadOutcome::Reloaded { reloads } => {
            at(Step::Reloaded);
            config::mark_good(paths)?;
            snapshot::save(&paths.plan_snapshot, plan);
            tracing::info!(reloads, "HAProxy reloaded");
            Ok(ApplyOutcome::Reloaded { reloads, warnings })
        }
        outcome => {
            tracing::error!(?outcome, "reload failed; restoring last-good");
            snapshot::forget(&paths.plan_snapshot);
            let restored = config::restore_last_good(paths).is_ok();
            if !matches!(service.state(), State::Running(_)) {
                // Never leave HAProxy stopped when it was serving (§3 post-fork failure).
                if let Err(e) = service.start() {
                    tracing::error!(error = %e, "restarting on last-good failed");
                }
            }
            Err(ApplyError::ReloadFailed { outcome, restored })
        }
    }
}
