//! `get-proxied-endpoints` (`spec/actions.md`): every frontend URL or `host:port` this unit
//! serves, with the requester it belongs to, as recorded by the last successful reconcile
//! (`crate::reconcile::served`).

use super::{result, ActionEnv, Failure, NoParams, Results};
use crate::reconcile::{served, suspension};

pub fn get_proxied_endpoints(env: &ActionEnv, _params: NoParams) -> Result<Results, Failure> {
    let state_dir = &env.settings.state_dir;
    let endpoints = served::load(state_dir).ok_or_else(|| {
        Failure::new(format!(
            "no endpoints recorded in {}: no config has been applied on this unit yet",
            served::path(state_dir).display()
        ))
    })?;
    let mut results = Results::new();
    result(
        &mut results,
        "endpoints",
        serde_json::to_string(&endpoints).unwrap_or_default(),
    );
    result(&mut results, "count", endpoints.len());
    // While suspended the endpoints are what `enable` brings back, not what answers now.
    result(
        &mut results,
        "suspended",
        suspension::is_suspended(state_dir),
    );
    Ok(results)
}
