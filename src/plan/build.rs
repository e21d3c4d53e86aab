//! `build`: all requests in, one conflict-free plan out.
//!
//! Requests arrive in precedence order (config first, then each interface in relation-id and
//! unit order). A later request loses when it claims a bind port or a frontend/backend name that
//! an earlier accepted request holds (`spec/http.md` §3 step 7, `spec/loadbalancer.md` port
//! conflicts); it becomes a [`Rejection`] and everything else is served. A request whose backends
//! are all empty is not rendered and claims nothing.

use super::*;
use std::collections::{BTreeMap, BTreeSet};

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
    // Who holds each port and name, for messages that name both sides (`http.md` §9 item 15).
    let mut ports: BTreeMap<u16, String> = BTreeMap::new();
    let mut names: BTreeMap<ProxyName, String> = BTreeMap::new();
    if let Some(stats) = &inputs.stats {
        ports.insert(stats.bind.port.get(), "the stats listener".to_owned());
        names.insert(
            StatsListener::frontend_name(),
            "the stats listener".to_owned(),
        );
    }
    for ul in &inputs.userlists {
        names.insert(ul.name.clone(), format!("userlist {}", ul.name));
    }

    for request in requests {
        // ssl-termination's frontends must exist before any site is routed: port 80 answers
        // the ACME challenges that make the first certificate (`ssl-termination.md` §4.4).
        if request.origin != Origin::SslTermination
            && request.backends.iter().all(|b| b.servers.is_empty())
        {
            tracing::info!(source = %request.source, service = %request.service, "service has no servers yet; not rendered");
            continue;
        }
        let reject = |field: &str, reason: String| Rejection {
            source: request.source.clone(),
            service: Some(request.service.clone()),
            field: field.to_owned(),
            reason,
        };
        let holder = format!("service {} ({})", request.service, request.source);
        let mut own_ports = BTreeSet::new();
        let clash_port = request.frontends.iter().find_map(|fe| {
            let p = fe.bind.port.get();
            match ports.get(&p) {
                Some(other) => Some((p, other.clone())),
                None => (!own_ports.insert(p)).then(|| (p, "another of its frontends".into())),
            }
        });
        if let Some((port, other)) = clash_port {
            rejections.push(reject("port", format!("{port} is already used by {other}")));
            continue;
        }
        let mut own_names = BTreeSet::new();
        let clash_name = request
            .frontends
            .iter()
            .map(|f| &f.name)
            .chain(request.backends.iter().map(|b| &b.name))
            .find_map(|n| match names.get(n) {
                Some(other) => Some((n.clone(), other.clone())),
                None => (!own_names.insert(n.clone()))
                    .then(|| (n.clone(), "another of its own sections".into())),
            });
        if let Some((name, other)) = clash_name {
            rejections.push(reject(
                "name",
                format!("'{name}' is already used by {other}"),
            ));
            continue;
        }
        ports.extend(own_ports.into_iter().map(|p| (p, holder.clone())));
        names.extend(own_names.into_iter().map(|n| (n, holder.clone())));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        service: &str,
        unit: &str,
        port: u16,
        backend: &str,
        servers: usize,
    ) -> ServiceRequest {
        let name = |n: &str| ProxyName::new(n).unwrap();
        ServiceRequest {
            origin: Origin::Http,
            source: Source::Unit {
                relation: "reverseproxy:1".into(),
                unit: unit.into(),
            },
            service: service.into(),
            frontends: vec![Frontend {
                name: name(&format!("fe-{service}")),
                bind: Bind {
                    host: None,
                    port: Port::new(port).unwrap(),
                },
                mode: Mode::Http,
                tls: None,
                directives: vec![],
                routes: vec![],
                default_backend: Some(name(backend)),
            }],
            backends: vec![Backend {
                name: name(backend),
                mode: Mode::Http,
                balance: None,
                stickiness: None,
                health_check: None,
                directives: vec![],
                errorfiles: vec![],
                servers: (0..servers)
                    .map(|i| Server {
                        name: ServerName::new(&format!("s{i}")).unwrap(),
                        host: Host::parse("127.0.0.1").unwrap(),
                        port: Port::new(8000).unwrap(),
                        weight: None,
                        check: true,
                        options: vec![],
                    })
                    .collect(),
            }],
        }
    }

    fn inputs() -> PlanInputs {
        inputs_with_stats(None)
    }

    fn inputs_with_stats(stats_port: Option<u16>) -> PlanInputs {
        PlanInputs {
            global: GlobalSettings::default(),
            userlists: vec![],
            stats: stats_port.map(|p| StatsListener {
                bind: Bind {
                    host: None,
                    port: Port::new(p).unwrap(),
                },
                userlist: ProxyName::new("ul_stats").unwrap(),
                allowed: vec![],
                refresh_s: None,
            }),
        }
    }

    #[test]
    fn a_later_port_claim_is_rejected_naming_the_holder() {
        let (plan, rejections) = build(
            inputs(),
            vec![
                request("app", "web/0", 80, "be-app", 1),
                request("api", "api/0", 80, "be-api", 1),
            ],
        );
        assert_eq!(plan.services.len(), 1);
        assert_eq!(
            rejections
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["api/0: api: port 80 is already used by service app (web/0)"]
        );
    }

    #[test]
    fn a_later_backend_name_claim_is_rejected_naming_the_holder() {
        let (plan, rejections) = build(
            inputs(),
            vec![
                request("app", "web/0", 80, "shared", 1),
                request("api", "api/0", 81, "shared", 1),
            ],
        );
        assert_eq!(plan.backends.len(), 1);
        assert_eq!(
            rejections[0].to_string(),
            "api/0: api: name 'shared' is already used by service app (web/0)"
        );
    }

    #[test]
    fn a_service_without_servers_claims_nothing() {
        let (plan, rejections) = build(
            inputs(),
            vec![
                request("empty", "web/0", 80, "be-empty", 0),
                request("app", "api/0", 80, "be-app", 2),
            ],
        );
        assert!(rejections.is_empty(), "{rejections:?}");
        assert_eq!(plan.frontends.len(), 1);
        assert_eq!(plan.frontends[0].bind.port.get(), 80);
    }

    #[test]
    fn output_is_sorted_and_identical_for_identical_input_whatever_the_order() {
        let zeta = request("zeta", "web/0", 81, "be-zeta", 1);
        let alpha = request("alpha", "web/1", 80, "be-alpha", 2);
        let (one, rejections) = build(inputs(), vec![zeta.clone(), alpha.clone()]);
        assert!(rejections.is_empty(), "{rejections:?}");
        let names: Vec<&str> = one.frontends.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["fe-alpha", "fe-zeta"]);
        let (again, _) = build(inputs(), vec![zeta.clone(), alpha.clone()]);
        assert_eq!(one, again);
        let (reordered, _) = build(inputs(), vec![alpha, zeta]);
        assert_eq!(one.frontends, reordered.frontends);
        assert_eq!(one.backends, reordered.backends);
    }

    #[test]
    fn the_stats_port_and_frontend_name_are_reserved() {
        let mut clash = request("x", "web/1", 90, "be-x", 1);
        clash.frontends[0].name = StatsListener::frontend_name();
        let (plan, rejections) = build(
            inputs_with_stats(Some(10000)),
            vec![
                request("a", "web/0", 10000, "be-a", 1),
                clash,
                request("ok", "web/2", 91, "be-ok", 1),
            ],
        );
        assert_eq!(rejections.len(), 2, "{rejections:?}");
        assert!(
            rejections[0]
                .to_string()
                .ends_with("port 10000 is already used by the stats listener"),
            "{rejections:?}"
        );
        assert_eq!(plan.frontends.len(), 1);
        assert_eq!(plan.frontends[0].name.as_str(), "fe-ok");
    }
}
