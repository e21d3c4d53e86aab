//! `suspend`, `enable` and `reload` (`spec/actions.md`): the actions that change whether and
//! what HAProxy serves. The suspension itself (flag, what a reconcile does while it is set)
//! lives in `crate::reconcile::suspension`, so every hook respects it; these functions set or
//! clear it and run the same reconcile a hook runs.

use super::{result, ActionEnv, Failure, NoParams, Results};
use crate::haproxy::State;
use crate::reconcile::{self, suspension};

/// A clause for error messages when the unit is suspended (so "not running" is explained).
pub fn suspended_hint(env: &ActionEnv) -> &'static str {
    if suspension::is_suspended(&env.settings.state_dir) {
        "; the unit is suspended: run the enable action to serve again"
    } else {
        ""
    }
}

/// Stop serving and remember it. Idempotent: a second `suspend` changes nothing.
pub fn suspend(env: &ActionEnv, _params: NoParams) -> Result<Results, Failure> {
    let state_dir = &env.settings.state_dir;
    let changed = suspension::set(state_dir, true).map_err(|e| {
        Failure::new(format!(
            "cannot record the suspension in {}: {e}; HAProxy was not stopped and still serves",
            suspension::flag_path(state_dir).display()
        ))
    })?;
    if let Err(e) = suspension::stop_serving(env.settings) {
        // Never half-suspended: without a stopped HAProxy the flag would lie.
        let _ = suspension::set(state_dir, false);
        return Err(Failure::new(format!(
            "{e}; the unit was not suspended and HAProxy still serves"
        )));
    }
    suspension::hold(env.tools, env.settings).map_err(|e| {
        Failure::new(format!(
            "HAProxy is stopped and the unit suspended, but closing the ports or setting the status failed: {e}"
        ))
    })?;
    let mut results = Results::new();
    result(&mut results, "suspended", true);
    result(&mut results, "changed", changed);
    result(&mut results, "status", suspension::STATUS);
    Ok(results)
}

/// Serve again: clear the flag and reconcile (render, validate, start). Idempotent. When HAProxy
/// cannot serve the model, the unit stays suspended and the action fails with the reason.
pub fn enable(env: &ActionEnv, _params: NoParams) -> Result<Results, Failure> {
    let state_dir = &env.settings.state_dir;
    let changed = suspension::set(state_dir, false).map_err(|e| {
        Failure::new(format!(
            "cannot clear the suspension in {}: {e}; the unit stays suspended",
            suspension::flag_path(state_dir).display()
        ))
    })?;
    let restore = |why: String| {
        if changed {
            let _ = suspension::set(state_dir, true);
            let _ = suspension::hold(env.tools, env.settings);
        }
        Failure::new(why)
    };
    let summary = match reconcile::reconcile(env.ctx, env.tools, env.settings) {
        Ok(summary) => summary,
        Err(e) => {
            return Err(restore(format!(
                "reconcile failed: {e}; {}",
                if changed {
                    "the unit stays suspended"
                } else {
                    "nothing was changed"
                }
            )))
        }
    };
    if let Some(error) = summary.apply_error {
        return Err(restore(format!(
            "HAProxy refused the config: {error}; {}",
            if changed {
                "the unit stays suspended"
            } else {
                "the previous config keeps serving"
            }
        )));
    }
    let serving = matches!(env.service().state(), State::Running(_));
    if !serving && summary.plan_services > 0 {
        return Err(restore(format!(
            "HAProxy is not running after the reconcile; {}",
            if changed {
                "the unit stays suspended"
            } else {
                "nothing was changed"
            }
        )));
    }
    let mut results = Results::new();
    result(&mut results, "suspended", false);
    result(&mut results, "changed", changed);
    result(&mut results, "haproxy-running", serving);
    result(&mut results, "services", summary.plan_services);
    Ok(results)
}

/// Reconcile now, reloading only if the model asks for a different config.
pub fn reload(env: &ActionEnv, _params: NoParams) -> Result<Results, Failure> {
    if suspension::is_suspended(&env.settings.state_dir) {
        return Err(Failure::new(
            "the unit is suspended: nothing was reloaded (run the enable action first)",
        ));
    }
    let service = env.service();
    let before = service.show_proc().ok();
    let summary = reconcile::reconcile(env.ctx, env.tools, env.settings).map_err(|e| {
        Failure::new(format!(
            "reconcile failed: {e}; nothing was reloaded, the running config keeps serving"
        ))
    })?;
    if let Some(error) = summary.apply_error {
        return Err(Failure::new(format!(
            "reload failed: {error}; the previous config keeps serving"
        )));
    }
    let after = service.show_proc().ok();
    let (reloaded, reason) = match (&before, &after) {
        (_, None) => {
            return Err(Failure::new(format!(
                "HAProxy is not running after the reconcile (its master CLI {} does not answer); nothing was reloaded",
                env.settings.haproxy.master_socket.display()
            )))
        }
        (None, Some(_)) => (true, "HAProxy was not running: started it".to_owned()),
        (Some(b), Some(a)) if a.master_pid != b.master_pid => {
            (true, "HAProxy was restarted".to_owned())
        }
        (Some(b), Some(a)) if a.reloads > b.reloads => (
            true,
            format!(
                "haproxy.cfg changed: verified reload (master reload counter {} -> {})",
                b.reloads, a.reloads
            ),
        ),
        (Some(_), Some(_)) => (
            false,
            "haproxy.cfg already matches the model (or only runtime changes were needed): no reload needed".to_owned(),
        ),
    };
    let mut results = Results::new();
    result(&mut results, "reloaded", reloaded);
    result(&mut results, "reason", reason);
    result(&mut results, "services", summary.plan_services);
    Ok(results)
}
