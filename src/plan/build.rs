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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> ProxyName {
        ProxyName::new(text).unwrap()
    }

    fn request(id: &str, port: u16, servers: usize) -> ServiceRequest {
        let backend = Backend {
            name: name(&format!("be_{id}")),
            mode: Mode::Http,
            balance: None,
            stickiness: None,
            health_check: None,
            directives: vec![],
            errorfiles: vec![],
            servers: (0..servers)
                .map(|i| Server {
                    name: ServerName::new(&format!("{id}-{i}")).unwrap(),
                    host: Host::Ip([127, 0, 2, 1].into()),
                    port: Port::new(8000).unwrap(),
                    weight: None,
                    check: true,
                    options: vec![],
                })
                .collect(),
        };
        ServiceRequest {
            origin: Origin::Config,
            source: Source::Config {
                option: "services".into(),
            },
            service: id.into(),
            frontends: vec![Frontend {
                name: name(&format!("fe_{id}")),
                bind: Bind {
                    host: None,
                    port: Port::new(port).unwrap(),
                },
                mode: Mode::Http,
                tls: None,
                directives: vec![],
                routes: vec![],
                default_backend: Some(backend.name.clone()),
            }],
            backends: vec![backend],
        }
    }

    fn inputs(stats_port: Option<u16>) -> PlanInputs {
        PlanInputs {
            global: GlobalSettings::default(),
            userlists: vec![],
            stats: stats_port.map(|p| StatsListener {
                bind: Bind {
                    host: None,
                    port: Port::new(p).unwrap(),
                },
                userlist: name("ul_stats"),
                allowed: vec![],
                refresh_s: None,
            }),
        }
    }

    #[test]
    fn output_is_sorted_and_identical_for_identical_input() {
        let requests = || vec![request("zeta", 81, 1), request("alpha", 80, 2)];
        let (a, rejections) = build(inputs(None), requests());
        assert!(rejections.is_empty());
        let names: Vec<&str> = a.frontends.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["fe_alpha", "fe_zeta"]);
        let (b, _) = build(inputs(None), requests());
        assert_eq!(a, b);
    }

    #[test]
    fn a_later_request_on_a_taken_port_is_rejected_and_the_rest_served() {
        let (plan, rejections) = build(
            inputs(None),
            vec![
                request("a", 80, 1),
                request("b", 80, 1),
                request("c", 82, 1),
            ],
        );
        assert_eq!(plan.frontends.len(), 2);
        assert_eq!(rejections.len(), 1);
        assert_eq!(rejections[0].service.as_deref(), Some("b"));
        assert!(
            rejections[0].reason.contains("port 80"),
            "{}",
            rejections[0]
        );
    }

    #[test]
    fn the_stats_port_and_frontend_name_are_reserved() {
        let mut clash = request("x", 90, 1);
        clash.frontends[0].name = StatsListener::frontend_name();
        let (plan, rejections) = build(
            inputs(Some(10000)),
            vec![request("a", 10000, 1), clash, request("ok", 91, 1)],
        );
        assert_eq!(rejections.len(), 2, "{rejections:?}");
        assert_eq!(plan.frontends.len(), 1);
        assert_eq!(plan.frontends[0].name.as_str(), "fe_ok");
    }

    #[test]
    fn a_request_without_servers_claims_nothing() {
        let (plan, rejections) = build(
            inputs(None),
            vec![request("empty", 80, 0), request("full", 80, 1)],
        );
        assert!(rejections.is_empty());
        assert_eq!(plan.services.len(), 1);
        assert_eq!(plan.services[0].service, "full");
    }
}
