//! What this unit serves, recorded after every successful apply for the
//! `get-proxied-endpoints` action (`spec/actions.md`): one entry per frontend of every planned
//! service, with the requester it belongs to. Kept in `Settings.state_dir` as JSON; the action
//! reads it back as plain data (it is never turned back into a plan).

use crate::plan::{LoadBalancerPlan, Mode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedEndpoint {
    /// `http://<address>:<port>`, `https://...`, or `<address>:<port>` for TCP.
    pub endpoint: String,
    pub service: String,
    /// Who asked for it (`config services`, `reverseproxy:3 web/0`, ...).
    pub requester: String,
    pub frontend: String,
    pub backends: Vec<String>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("served-endpoints.json")
}

/// The endpoints of `plan`; a frontend bound to every address (none, `0.0.0.0`, `::`) is
/// reached at `public_address`.
pub fn endpoints(plan: &LoadBalancerPlan, public_address: &str) -> Vec<ServedEndpoint> {
    let mut out = Vec::new();
    for service in &plan.services {
        for name in &service.frontends {
            let Some(fe) = plan.frontends.iter().find(|f| &f.name == name) else {
                continue;
            };
            // `0.0.0.0`/`::` bind every address: the unit is reached at its public one.
            let host = match fe.bind.host.filter(|ip| !ip.is_unspecified()) {
                Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
                Some(ip) => ip.to_string(),
                None if public_address.contains(':') => format!("[{public_address}]"),
                None => public_address.to_owned(),
            };
            let address = format!("{host}:{}", fe.bind.port.get());
            let endpoint = match (fe.mode, fe.tls.is_some()) {
                (Mode::Http, true) => format!("https://{address}"),
                (Mode::Http, false) => format!("http://{address}"),
                (Mode::Tcp, _) => address,
            };
            out.push(ServedEndpoint {
                endpoint,
                service: service.service.clone(),
                requester: service.source.to_string(),
                frontend: name.as_str().to_owned(),
                backends: service
                    .backends
                    .iter()
                    .map(|b| b.as_str().to_owned())
                    .collect(),
            });
        }
    }
    out
}

/// Record what is served now. Best effort: the action says when nothing was recorded.
pub fn record(state_dir: &Path, plan: &LoadBalancerPlan, public_address: &str) {
    let text = serde_json::to_vec_pretty(&endpoints(plan, public_address)).unwrap_or_default();
    let result = std::fs::create_dir_all(state_dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            crate::haproxy::config::replace_file(&path(state_dir), &text).map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record the served endpoints");
    }
}

/// What was recorded; `None` when nothing was (no successful apply yet).
pub fn load(state_dir: &Path) -> Option<Vec<ServedEndpoint>> {
    serde_json::from_slice(&std::fs::read(path(state_dir)).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::*;

    fn plan_with_bind(host: Option<std::net::IpAddr>, mode: Mode) -> LoadBalancerPlan {
        let name = ProxyName::new("fe").unwrap();
        LoadBalancerPlan {
            global: GlobalSettings::default(),
            frontends: vec![Frontend {
                name: name.clone(),
                bind: Bind {
                    host,
                    port: Port::new(8080).unwrap(),
                },
                mode,
                tls: None,
                directives: vec![],
                routes: vec![],
                default_backend: None,
            }],
            backends: vec![],
            userlists: vec![],
            stats: None,
            services: vec![PlannedService {
                origin: Origin::Config,
                source: Source::Config {
                    option: "services".into(),
                },
                service: "api".into(),
                frontends: vec![name],
                binds: vec![],
                backends: vec![],
            }],
        }
    }

    #[test]
    fn endpoints_name_the_address_a_client_uses() {
        let cases = [
            (None, Mode::Http, "http://10.1.2.3:8080"),
            (
                Some([0, 0, 0, 0].into()),
                Mode::Http,
                "http://10.1.2.3:8080",
            ),
            (
                Some(std::net::Ipv6Addr::UNSPECIFIED.into()),
                Mode::Tcp,
                "10.1.2.3:8080",
            ),
            (Some([192, 0, 2, 7].into()), Mode::Tcp, "192.0.2.7:8080"),
            (
                Some(std::net::Ipv6Addr::LOCALHOST.into()),
                Mode::Http,
                "http://[::1]:8080",
            ),
        ];
        for (host, mode, expected) in cases {
            let got = endpoints(&plan_with_bind(host, mode), "10.1.2.3");
            assert_eq!(got[0].endpoint, expected, "{host:?}");
            assert_eq!(got[0].requester, "config services");
        }
    }
}
