//! The plan HAProxy last took, kept so the next `apply` can tell a weight-only change (runtime
//! API, no reload) from everything else.
//!
//! The snapshot is not a deserializable plan (that would bypass the newtypes' validation): it
//! holds the plan's JSON with every weight blanked (the "shape") and the weights by
//! `backend/server`. When the new plan has the same shape, the old plan *is* the new one with
//! the old weights put back, and `runtime::changes(old, new)` decides as usual. Nothing here
//! talks to HAProxy.

use crate::plan::LoadBalancerPlan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Snapshot {
    shape: String,
    weights: BTreeMap<String, Option<u16>>,
}

fn key(backend: &str, server: &str) -> String {
    format!("{backend}/{server}")
}

fn snapshot(plan: &LoadBalancerPlan) -> Snapshot {
    let mut shape = plan.clone();
    // Who asked for a service does not change what HAProxy serves.
    shape.services.clear();
    let mut weights = BTreeMap::new();
    for backend in &mut shape.backends {
        for server in &mut backend.servers {
            weights.insert(
                key(backend.name.as_str(), server.name.as_str()),
                server.weight,
            );
            server.weight = None;
        }
    }
    Snapshot {
        shape: serde_json::to_string(&shape).unwrap_or_default(),
        weights,
    }
}

/// Remember `plan` as what HAProxy serves. Best effort: without a snapshot the next change
/// reloads, which is always correct.
pub fn save(path: &Path, plan: &LoadBalancerPlan) {
    let text = serde_json::to_vec(&snapshot(plan)).unwrap_or_default();
    if let Err(e) = super::config::replace_file(path, &text) {
        tracing::warn!(error = %e, "cannot save the plan snapshot; the next change reloads");
    }
}

/// Forget it (after a failure, what runs is not known exactly).
pub fn forget(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// The plan HAProxy serves, when `new` differs from it at most in server weights.
pub fn previous_if_same_shape(path: &Path, new: &LoadBalancerPlan) -> Option<LoadBalancerPlan> {
    let stored: Snapshot = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let current = snapshot(new);
    if stored.shape != current.shape || stored.weights.len() != current.weights.len() {
        return None;
    }
    let mut old = new.clone();
    for backend in &mut old.backends {
        for server in &mut backend.servers {
            server.weight = *stored
                .weights
                .get(&key(backend.name.as_str(), server.name.as_str()))?;
        }
    }
    Some(old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::*;

    fn plan(weight: Option<u16>, port: u16) -> LoadBalancerPlan {
        LoadBalancerPlan {
            global: GlobalSettings::default(),
            frontends: vec![],
            backends: vec![Backend {
                name: ProxyName::new("be").unwrap(),
                mode: Mode::Http,
                balance: None,
                stickiness: None,
                health_check: None,
                directives: vec![],
                errorfiles: vec![],
                servers: vec![Server {
                    name: ServerName::new("s").unwrap(),
                    host: Host::Ip([127, 0, 2, 1].into()),
                    port: Port::new(port).unwrap(),
                    weight,
                    check: true,
                    options: vec![],
                }],
            }],
            userlists: vec![],
            stats: None,
            services: vec![],
        }
    }

    #[test]
    fn same_shape_gives_back_the_old_weights() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        save(&path, &plan(Some(5), 80));
        let old = previous_if_same_shape(&path, &plan(Some(9), 80)).unwrap();
        assert_eq!(old, plan(Some(5), 80));
    }

    #[test]
    fn another_shape_or_no_snapshot_gives_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        assert_eq!(previous_if_same_shape(&path, &plan(None, 80)), None);
        save(&path, &plan(Some(5), 80));
        assert_eq!(previous_if_same_shape(&path, &plan(Some(5), 81)), None);
        forget(&path);
        assert_eq!(previous_if_same_shape(&path, &plan(Some(5), 80)), None);
    }
}
