//! `build`: all requests in, one conflict-free plan out.
//!
//! Requests arrive in precedence order (config first, then each interface in relation-id and
//! unit order). A later request loses when it claims a bind port or a frontend/backend name that
//! an earlier accepted request holds (`spec/http.md` §3 step 7, `spec/loadbalancer.md` port
//! conflicts); it becomes a [`Rejection`] and everything else is served. A request whose backends
//! are all empty is not rendered and claims nothing.

use super::*;
use std::collections::BTreeSet;

/// What `build` needs besides the requests.
pub struct PlanInputs {
    pub global: GlobalSettings,
    pub userlists: Vec<Userlist>,
    pub stats: Option<StatsListener>,
}

/// Resolve every request into one plan. Deterministic: output is sorted by name.
pub fn build(
    inputs: PlanInputs,
    requests: Vec<ServiceRequest>,
) -> (LoadBalancerPlan, Vec<Rejection>) {
    let mut rejections = Vec::new();
    let mut frontends: Vec<Frontend> = Vec::new();
    let mut backends: Vec<Backend> = Vec::new();
    let mut services = Vec::new();
    let mut ports: BTreeSet<u16> = BTreeSet::new();
    let mut names: BTreeSet<ProxyName> = BTreeSet::new();
    if let Some(stats) = &inputs.stats {
        ports.insert(stats.bind.port.get());
        names.insert(StatsListener::frontend_name());
    }
    for ul in &inputs.userlists {
        names.insert(ul.name.clone());
    }

    for request in requests {
        if request.backends.iter().all(|b| b.servers.is_empty()) {
            tracing::info!(source = %request.source, service = %request.service, "service has no servers yet; not rendered");
            continue;
        }
        let reject = |field: &str, reason: String| Rejection {
            source: request.source.clone(),
            service: Some(request.service.clone()),
            field: field.to_owned(),
            reason,
        };
        let mut own_ports = BTreeSet::new();
        let clash_port = request.frontends.iter().find_map(|fe| {
            let p = fe.bind.port.get();
            (ports.contains(&p) || !own_ports.insert(p)).then_some(p)
        });
        if let Some(port) = clash_port {
            rejections.push(reject(
                "port",
                format!("port {port} is already used by another service"),
            ));
            continue;
        }
        let mut own_names = BTreeSet::new();
        let clash_name = request
            .frontends
            .iter()
            .map(|f| &f.name)
            .chain(request.backends.iter().map(|b| &b.name))
            .find(|n| names.contains(*n) || !own_names.insert((*n).clone()));
        if let Some(name) = clash_name {
            rejections.push(reject(
                "name",
                format!("name '{name}' is already used by another service"),
            ));
            continue;
        }
        ports.extend(own_ports);
        names.extend(own_names);
        services.push(PlannedService {
            origin: request.origin,
            source: request.source.clone(),
            service: request.service.clone(),
            frontends: request.frontends.iter().map(|f| f.name.clone()).collect(),
            binds: request.frontends.iter().map(|f| f.bind.clone()).collect(),
            backends: request.backends.iter().map(|b| b.name.clone()).collect(),
        });
        frontends.extend(request.frontends);
        backends.extend(request.backends);
    }
    frontends.sort_by(|a, b| a.name.cmp(&b.name));
    backends.sort_by(|a, b| a.name.cmp(&b.name));
    let plan = LoadBalancerPlan {
        global: inputs.global,
        frontends,
        backends,
        userlists: inputs.userlists,
        stats: inputs.stats,
        services,
    };
    (plan, rejections)
}
