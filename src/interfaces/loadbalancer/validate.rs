//! One decoded request -> one `plan::ServiceRequest`, or the error answer it deserves.
//!
//! This is where we decide what we serve (`spec/loadbalancer.md` §3, §8, §9 items 5-7, 12-14,
//! 22): protocols `tcp`, `http`, `https` (TLS passthrough at layer 4 unless we terminate),
//! every `port_mapping` pair, the `algorithm` preference list mapped to HAProxy's, `sticky`,
//! every health check, `public`, `ingress_address`, and `tls_termination` with a validated
//! certificate and key. Every problem in a field is collected under that field's name, so one
//! answer lists all of them. Nothing here reads Juju or touches HAProxy; the certificate file
//! to write comes back as data.

use super::pem::{self, PemBundle};
use super::request::{Protocol, WireHealthCheck, WireInt, WireRequest};
use super::response::{Address, ErrorAnswer, FieldErrors, Message, RequestField};
use crate::interfaces::RemoteUnit;
use crate::plan::types::{show, unit_token};
use crate::plan::{
    Backend, Balance, Bind, CookieName, FilePath, Frontend, HealthCheck, Host, Hostname, HttpPath,
    Mode, Origin, Port, Probe, ProbeKind, ProxyName, Server, ServerName, ServiceRequest, Source,
    Stickiness, TlsBind,
};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// What the charm tells the interface about itself (config and addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbSettings {
    /// This unit's public address (`unit-get public-address`), if known.
    pub public_address: Option<String>,
    /// Config `vip`: advertised instead of the unit's address for public requests.
    pub vip: String,
    /// Config `external_hostname`: a DNS name advertised for public requests (after `vip`).
    pub external_hostname: String,
    /// Directory for the PEM files of terminated requests.
    pub cert_dir: FilePath,
}

/// The relation a request came from, as far as validation needs it.
pub struct RelationContext<'a> {
    pub id: u64,
    /// `lb-consumers:7`.
    pub key: &'a str,
    pub remote_app: &'a str,
    pub units: &'a [RemoteUnit],
    /// Our ingress address on this relation.
    pub ingress_address: &'a str,
}

/// A file the caller must write (mode 0600) before HAProxy loads the config.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretFile {
    pub path: FilePath,
    pub contents: PemBundle,
}

impl fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretFile({}, <redacted>)", self.path)
    }
}

/// A request we can serve: what goes into the plan, what we answer, what to write first.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub service: ServiceRequest,
    pub address: Address,
    pub files: Vec<SecretFile>,
}

/// The cookie name for sticky HTTP sessions.
const STICKY_COOKIE: &str = "SRVID";
/// Consecutive successful checks before a server is up again (`haproxy.md` §8 skeleton).
const RISE: u32 = 2;

/// Collects reasons per field; the first reason for a field wins.
#[derive(Default)]
struct Problems(BTreeMap<RequestField, String>);

impl Problems {
    fn add(&mut self, field: RequestField, reason: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| reason.into());
    }
}

fn port(value: WireInt) -> Result<Port, String> {
    u16::try_from(value)
        .ok()
        .and_then(|p| Port::new(p).ok())
        .ok_or_else(|| format!("port {value} is outside 1-65535"))
}

/// HAProxy's algorithm for one name in the requester's vocabulary (OpenStack, Azure, HAProxy).
fn balance(name: &str) -> Option<Balance> {
    let normal: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match normal.as_str() {
        "roundrobin" | "default" => Balance::RoundRobin,
        "leastconn" | "leastconnections" | "leastconnection" => Balance::LeastConn,
        "source" | "sourceip" | "sourceipprotocol" => Balance::Source,
        _ => return None,
    })
}

/// A token for proxy names: the request name's safe characters, plus a short hash of the
/// original when anything was changed or cut, so two names can never collide.
fn name_token(name: &str, budget: usize) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if safe == name && !safe.is_empty() && safe.len() <= budget {
        return safe;
    }
    // FNV-1a: stable across runs and builds (std's hasher is not).
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let keep = budget.saturating_sub(9);
    let cut: String = safe.chars().take(keep).collect();
    if cut.is_empty() {
        format!("h{:08x}", hash as u32)
    } else {
        format!("{cut}-{:08x}", hash as u32)
    }
}

fn proxy_name(
    kind: &str,
    relation_id: u64,
    request: &str,
    front: Port,
) -> Result<ProxyName, String> {
    let fixed = format!("lb-{kind}-{relation_id}--{front}");
    let token = name_token(request, 63usize.saturating_sub(fixed.len()));
    ProxyName::new(&format!("lb-{kind}-{relation_id}-{token}-{front}"))
        .map_err(|e| format!("cannot name the proxy for this request: {e}"))
}

/// Where to bind and what to answer (§3, `public`, `ingress_address`).
fn placement(
    request: &WireRequest,
    relation: &RelationContext<'_>,
    settings: &LbSettings,
    problems: &mut Problems,
) -> Result<Option<(Option<IpAddr>, Address)>, Message> {
    let ingress: Option<IpAddr> = relation.ingress_address.parse().ok();
    let vip: Option<IpAddr> = match settings.vip.as_str() {
        "" => None,
        text => Some(text.parse().map_err(|_| {
            Message::new(format!("config vip {} is not an IP address", show(text)))
                .unwrap_or_else(|| unreachable!("message is not empty"))
        })?),
    };
    if let Some(wanted) = &request.ingress_address {
        let ip: Option<IpAddr> = wanted.parse().ok();
        let public: Option<IpAddr> = settings
            .public_address
            .as_deref()
            .and_then(|a| a.parse().ok());
        return Ok(match ip {
            // The VIP floats between units: bind everywhere (or on the ingress address) and
            // let whoever holds it answer.
            Some(ip) if Some(ip) == vip => {
                let host = if request.public { None } else { ingress };
                Some((host, Address::from_ip(ip)))
            }
            Some(ip) if Some(ip) == ingress || Some(ip) == public => {
                Some((Some(ip), Address::from_ip(ip)))
            }
            _ => {
                problems.add(
                    RequestField::IngressAddress,
                    format!("{} is not an address of this load balancer", show(wanted)),
                );
                None
            }
        });
    }
    if !request.public {
        let ip = ingress.ok_or_else(|| {
            Message::new(format!(
                "our ingress address {} on {} is not an IP address",
                show(relation.ingress_address),
                relation.key
            ))
            .unwrap_or_else(|| unreachable!("message is not empty"))
        })?;
        return Ok(Some((Some(ip), Address::from_ip(ip))));
    }
    let address = if let Some(vip) = vip {
        Address::from_ip(vip)
    } else if !settings.external_hostname.is_empty() {
        let name = Hostname::checked(&settings.external_hostname).map_err(|e| {
            Message::new(format!("config external_hostname: {e}"))
                .unwrap_or_else(|| unreachable!("message is not empty"))
        })?;
        Address::from_hostname(&name)
    } else {
        let text = settings
            .public_address
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or(relation.ingress_address);
        match Host::parse(text) {
            Ok(Host::Ip(ip)) => Address::from_ip(ip),
            Ok(Host::Name(name)) => Address::from_hostname(&name),
            Err(e) => {
                return Err(Message::new(format!("no public address to advertise: {e}"))
                    .unwrap_or_else(|| unreachable!("message is not empty")))
            }
        }
    };
    Ok(Some((None, address)))
}

/// The health probes for a backend in `mode` (§7 trap: an `http` check on a layer-4 request is
/// a connect check, because such backends (kube-apiserver) often speak only TLS there).
fn health(checks: &[WireHealthCheck], mode: Mode, problems: &mut Problems) -> Option<HealthCheck> {
    if checks.is_empty() {
        return None;
    }
    let mut probes = Vec::new();
    for (n, check) in checks.iter().enumerate() {
        let port = match port(check.port) {
            Ok(p) => p,
            Err(e) => {
                problems.add(RequestField::HealthChecks, format!("check {n}: {e}"));
                continue;
            }
        };
        let path = match check.path.as_deref() {
            None => HttpPath::new("/"),
            Some(p) => HttpPath::new(p),
        };
        let kind = match (check.protocol, mode) {
            (Protocol::Udp, _) => {
                problems.add(
                    RequestField::HealthChecks,
                    format!("check {n}: udp health checks are not supported"),
                );
                continue;
            }
            (Protocol::Tcp, _) | (Protocol::Http, Mode::Tcp) => ProbeKind::Connect,
            (Protocol::Http, Mode::Http) | (Protocol::Https, _) => match path {
                Ok(path) if check.protocol == Protocol::Http => ProbeKind::Http { path },
                Ok(path) => ProbeKind::Https { path },
                Err(e) => {
                    problems.add(RequestField::HealthChecks, format!("check {n}: path {e}"));
                    continue;
                }
            },
        };
        if !(1..=86_400).contains(&check.interval) {
            problems.add(
                RequestField::HealthChecks,
                format!(
                    "check {n}: interval {} is outside 1-86400 seconds",
                    check.interval
                ),
            );
        }
        if !(1..=1_000).contains(&check.retries) {
            problems.add(
                RequestField::HealthChecks,
                format!("check {n}: retries {} is outside 1-1000", check.retries),
            );
        }
        probes.push(Probe { port, kind });
    }
    let clamp = |v: WireInt, hi: u32| u32::try_from(v.clamp(1, WireInt::from(hi))).unwrap_or(hi);
    Some(HealthCheck {
        path: None,
        // Several checks share one schedule: the most frequent interval, the fewest retries.
        interval_s: checks
            .iter()
            .map(|c| clamp(c.interval, 86_400))
            .min()
            .unwrap_or(30),
        fall: checks
            .iter()
            .map(|c| clamp(c.retries, 1_000))
            .min()
            .unwrap_or(3),
        rise: RISE,
        probes,
    })
}

/// The servers: the request's `backends`, or every requirer unit's `ingress-address` in
/// unit-name *string* order, units without one skipped, no de-duplication (§2.3).
fn servers(
    request: &WireRequest,
    relation: &RelationContext<'_>,
    problems: &mut Problems,
) -> Vec<(ServerName, Host)> {
    let mut out = Vec::new();
    if request.backends.is_empty() {
        let mut units: Vec<&RemoteUnit> = relation.units.iter().collect();
        units.sort_by(|a, b| a.name.cmp(&b.name));
        for unit in units {
            let Some(address) = unit.bag.get("ingress-address") else {
                continue;
            };
            match (
                Host::parse(address),
                ServerName::new(&unit_token(&unit.name)),
            ) {
                (Ok(host), Ok(name)) => out.push((name, host)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(relation = relation.key, unit = %unit.name, "skipping backend unit: {e}");
                }
            }
        }
    } else {
        for (n, address) in request.backends.iter().enumerate() {
            match (
                Host::parse(address),
                ServerName::new(&format!("backend-{n}")),
            ) {
                (Ok(host), Ok(name)) => out.push((name, host)),
                (Err(e), _) | (_, Err(e)) => problems.add(RequestField::Backends, e.to_string()),
            }
        }
    }
    out
}

/// Decide one request.
pub fn validate(
    request: &WireRequest,
    relation: &RelationContext<'_>,
    settings: &LbSettings,
) -> Result<Accepted, ErrorAnswer> {
    let mut problems = Problems::default();

    if request.protocol == Protocol::Udp {
        // HAProxy 2.6 cannot proxy UDP (`haproxy.md` intro), nor terminate DTLS.
        problems.add(RequestField::Protocol, "udp is not supported");
        if request.tls_termination {
            problems.add(RequestField::TlsTermination, "not supported");
        }
    }

    let mut pairs = Vec::new();
    if request.port_mapping.is_empty() {
        problems.add(
            RequestField::PortMapping,
            "at least one port pair is required",
        );
    }
    for &(front, back) in &request.port_mapping {
        match (port(front), port(back)) {
            (Ok(f), Ok(b)) => pairs.push((f, b)),
            (Err(e), _) | (_, Err(e)) => problems.add(RequestField::PortMapping, e),
        }
    }

    let mut chosen_balance = None;
    if !request.algorithm.is_empty() {
        chosen_balance = request.algorithm.iter().find_map(|a| balance(a));
        if chosen_balance.is_none() {
            let asked: Vec<String> = request.algorithm.iter().map(|a| show(a)).collect();
            problems.add(
                RequestField::Algorithm,
                format!(
                    "none of {} is supported; use roundrobin, leastconn or source",
                    asked.join(", ")
                ),
            );
        }
    }

    let mut tls = None;
    let mut files = Vec::new();
    if request.tls_termination && request.protocol != Protocol::Udp {
        match (request.tls_cert.as_deref(), request.tls_key.as_deref()) {
            (Some(cert), Some(key)) if !cert.is_empty() && !key.is_empty() => {
                match pem::validate(cert, key) {
                    Ok(bundle) => {
                        let file = format!(
                            "{}/lb-{}-{}.pem",
                            settings.cert_dir,
                            relation.id,
                            name_token(&request.name, 100)
                        );
                        match FilePath::new(&file) {
                            Ok(path) => {
                                tls = Some(TlsBind::Certificates(vec![path.clone()]));
                                files.push(SecretFile {
                                    path,
                                    contents: bundle,
                                });
                            }
                            Err(e) => {
                                return Err(provider_error(format!("certificate file path: {e}")))
                            }
                        }
                    }
                    Err(e) => problems.add(e.field(), e.to_string()),
                }
            }
            (cert, key) => {
                if cert.is_none_or(str::is_empty) {
                    problems.add(
                        RequestField::TlsCert,
                        "required when tls_termination is true",
                    );
                }
                if key.is_none_or(str::is_empty) {
                    problems.add(
                        RequestField::TlsKey,
                        "required when tls_termination is true",
                    );
                }
            }
        }
    }

    // https without termination is passed through untouched at layer 4 (§9 item 22).
    let mode = match (request.protocol, request.tls_termination) {
        (Protocol::Http, _) | (Protocol::Https, true) => Mode::Http,
        _ => Mode::Tcp,
    };
    let stickiness = request.sticky.then(|| match mode {
        Mode::Http => CookieName::new(STICKY_COOKIE)
            .map(Stickiness::Cookie)
            .unwrap_or(Stickiness::SourceIp),
        Mode::Tcp => Stickiness::SourceIp,
    });
    let health_check = health(&request.health_checks, mode, &mut problems);
    let servers = servers(request, relation, &mut problems);
    let placement = placement(request, relation, settings, &mut problems)
        .map_err(ErrorAnswer::ProviderError)?;

    if let Some(fields) = FieldErrors::new(std::mem::take(&mut problems.0)) {
        return Err(ErrorAnswer::Unsupported(fields));
    }
    let Some((bind_host, address)) = placement else {
        return Err(provider_error("no address to answer with".into()));
    };

    let mut frontends = Vec::new();
    let mut backends = Vec::new();
    for (front, back) in pairs {
        let fe = proxy_name("fe", relation.id, &request.name, front).map_err(provider_error)?;
        let be = proxy_name("be", relation.id, &request.name, front).map_err(provider_error)?;
        frontends.push(Frontend {
            name: fe,
            bind: Bind {
                host: bind_host,
                port: front,
            },
            mode,
            tls: tls.clone(),
            directives: Vec::new(),
            routes: Vec::new(),
            default_backend: Some(be.clone()),
        });
        backends.push(Backend {
            name: be,
            mode,
            balance: chosen_balance,
            stickiness: stickiness.clone(),
            health_check: health_check.clone(),
            directives: Vec::new(),
            errorfiles: Vec::new(),
            servers: servers
                .iter()
                .map(|(name, host)| Server {
                    name: name.clone(),
                    host: host.clone(),
                    port: back,
                    weight: None,
                    check: health_check.is_some(),
                    options: Vec::new(),
                })
                .collect(),
        });
    }
    Ok(Accepted {
        service: ServiceRequest {
            origin: Origin::LoadBalancer,
            source: Source::App {
                relation: relation.key.to_owned(),
                app: relation.remote_app.to_owned(),
                request: Some(request.name.clone()),
            },
            service: request.name.clone(),
            frontends,
            backends,
        },
        address,
        files,
    })
}

fn provider_error(text: String) -> ErrorAnswer {
    ErrorAnswer::ProviderError(
        Message::new(text)
            .unwrap_or_else(|| Message::new("internal error").unwrap_or_else(|| unreachable!())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interfaces::Bag;

    fn unit(name: &str, address: Option<&str>) -> RemoteUnit {
        let mut bag = Bag::new();
        if let Some(a) = address {
            bag.insert("ingress-address".into(), a.into());
        }
        RemoteUnit {
            name: name.into(),
            bag,
        }
    }

    fn settings() -> LbSettings {
        LbSettings {
            public_address: Some("127.0.4.1".into()),
            vip: String::new(),
            external_hostname: String::new(),
            cert_dir: FilePath::new("/var/lib/haproxy-lb/lb-certs").unwrap(),
        }
    }

    fn run(
        text: &str,
        units: &[RemoteUnit],
        settings: &LbSettings,
    ) -> Result<Accepted, ErrorAnswer> {
        let request = WireRequest::parse(text).unwrap();
        let relation = RelationContext {
            id: 7,
            key: "lb-consumers:7",
            remote_app: "kcp",
            units,
            ingress_address: "127.0.4.2",
        };
        validate(&request, &relation, settings)
    }

    fn req(extra: &str) -> String {
        format!(
            r#"{{"id": "i", "name": "web", "protocol": "tcp", "port_mapping": {{"443": 6443}}{extra}}}"#
        )
    }

    fn field_errors(result: Result<Accepted, ErrorAnswer>) -> BTreeMap<&'static str, String> {
        match result {
            Err(ErrorAnswer::Unsupported(f)) => {
                f.iter().map(|(k, v)| (k.as_str(), v.to_owned())).collect()
            }
            other => panic!("expected unsupported, got {other:?}"),
        }
    }

    #[test]
    fn kubernetes_shaped_request_is_layer4_to_every_unit() {
        let units = [
            unit("kcp/0", Some("127.0.4.11")),
            unit("kcp/1", Some("127.0.4.12")),
        ];
        let text = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "5f0c", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "8bac", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
        let ok = run(text, &units, &settings()).unwrap();
        assert_eq!(ok.address.as_str(), "127.0.4.1");
        let s = ok.service;
        assert_eq!(s.origin, Origin::LoadBalancer);
        assert_eq!(s.service, "api-server-external");
        assert_eq!(s.frontends.len(), 1);
        let fe = &s.frontends[0];
        assert_eq!(fe.name.as_str(), "lb-fe-7-api-server-external-443");
        assert_eq!(fe.bind.to_string(), ":443");
        assert_eq!((fe.mode, fe.tls.is_none()), (Mode::Tcp, true));
        assert_eq!(
            fe.default_backend.as_ref().map(|b| b.as_str()),
            Some("lb-be-7-api-server-external-443")
        );
        let be = &s.backends[0];
        let servers: Vec<String> = be
            .servers
            .iter()
            .map(|s| format!("{} {}:{} {}", s.name, s.host, s.port, s.check))
            .collect();
        assert_eq!(
            servers,
            ["kcp-0 127.0.4.11:6443 true", "kcp-1 127.0.4.12:6443 true"]
        );
        let hc = be.health_check.as_ref().unwrap();
        // The trap of §7: an http check on a tcp request is a connect check on 6443.
        assert_eq!(
            hc.probes,
            vec![Probe {
                port: Port::new(6443).unwrap(),
                kind: ProbeKind::Connect
            }]
        );
        assert_eq!((hc.interval_s, hc.fall, hc.rise), (30, 3, 2));
        assert!(ok.files.is_empty());
    }

    #[test]
    fn default_backends_follow_unit_name_string_order_and_skip_units_without_address() {
        let units = [
            unit("webapp/0", Some("127.0.4.21")),
            unit("webapp/1", Some("127.0.4.22")),
            unit("webapp/2", Some("127.0.4.23")),
            unit("webapp/10", Some("127.0.4.30")),
            unit("webapp/3", None),
        ];
        let ok = run(&req(""), &units, &settings()).unwrap();
        let hosts: Vec<String> = ok.service.backends[0]
            .servers
            .iter()
            .map(|s| s.host.to_string())
            .collect();
        assert_eq!(
            hosts,
            ["127.0.4.21", "127.0.4.22", "127.0.4.30", "127.0.4.23"]
        );
    }

    #[test]
    fn explicit_backends_are_used_as_given_including_ipv6_and_names() {
        let ok = run(
            &req(r#", "backends": ["fd00::5", "db.example", "fd00::5"]"#),
            &[unit("x/0", Some("127.0.4.9"))],
            &settings(),
        )
        .unwrap();
        let servers: Vec<String> = ok.service.backends[0]
            .servers
            .iter()
            .map(|s| format!("{} {}", s.name, s.host))
            .collect();
        assert_eq!(
            servers,
            [
                "backend-0 fd00::5",
                "backend-1 db.example",
                "backend-2 fd00::5"
            ]
        );
    }

    #[test]
    fn several_port_pairs_give_one_frontend_and_backend_each() {
        let ok = run(
            r#"{"id": "i", "name": "multi", "protocol": "tcp", "port_mapping": {"8443": 443, "80": 8080, "443": 6443}}"#,
            &[unit("a/0", Some("127.0.4.5"))],
            &settings(),
        )
        .unwrap();
        let fronts: Vec<String> = ok
            .service
            .frontends
            .iter()
            .map(|f| f.bind.to_string())
            .collect();
        assert_eq!(fronts, [":80", ":443", ":8443"]);
        let backs: Vec<u16> = ok
            .service
            .backends
            .iter()
            .map(|b| b.servers[0].port.get())
            .collect();
        assert_eq!(backs, [8080, 6443, 443]);
    }

    #[test]
    fn protocols_map_to_modes() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        for (protocol, mode) in [
            ("tcp", Mode::Tcp),
            ("http", Mode::Http),
            ("https", Mode::Tcp),
        ] {
            let text = req("").replace("\"tcp\"", &format!("\"{protocol}\""));
            let ok = run(&text, &u, &settings()).unwrap();
            assert_eq!(ok.service.frontends[0].mode, mode, "{protocol}");
            assert_eq!(ok.service.backends[0].mode, mode, "{protocol}");
        }
    }

    #[test]
    fn algorithm_takes_the_first_known_name() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        for (list, want) in [
            (r#"["leastconn", "roundrobin"]"#, Some(Balance::LeastConn)),
            (r#"["MAGLEV", "SOURCE_IP"]"#, Some(Balance::Source)),
            (r#"["ROUND_ROBIN"]"#, Some(Balance::RoundRobin)),
            (r#"["LEAST_CONNECTIONS"]"#, Some(Balance::LeastConn)),
            ("[]", None),
        ] {
            let ok = run(&req(&format!(r#", "algorithm": {list}"#)), &u, &settings()).unwrap();
            assert_eq!(ok.service.backends[0].balance, want, "{list}");
        }
        let errs = field_errors(run(
            &req(r#", "algorithm": ["maglev", "random"]"#),
            &u,
            &settings(),
        ));
        assert_eq!(
            errs["algorithm"],
            "none of 'maglev', 'random' is supported; use roundrobin, leastconn or source"
        );
    }

    #[test]
    fn sticky_is_a_cookie_in_http_and_a_source_table_in_tcp() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        let tcp = run(&req(r#", "sticky": true"#), &u, &settings()).unwrap();
        assert_eq!(
            tcp.service.backends[0].stickiness,
            Some(Stickiness::SourceIp)
        );
        let http = run(
            &req(r#", "sticky": true"#).replace("\"tcp\"", "\"http\""),
            &u,
            &settings(),
        )
        .unwrap();
        assert!(
            matches!(&http.service.backends[0].stickiness, Some(Stickiness::Cookie(c)) if c.as_str() == "SRVID")
        );
        let off = run(&req(""), &u, &settings()).unwrap();
        assert_eq!(off.service.backends[0].stickiness, None);
    }

    #[test]
    fn every_health_check_becomes_a_probe() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        let text = r#"{"id": "i", "name": "web", "protocol": "http", "port_mapping": {"80": 8080}, "health_checks": [
            {"protocol": "http", "port": 8080, "path": "/healthz", "interval": 10, "retries": 2},
            {"protocol": "https", "port": 8443, "interval": 20},
            {"protocol": "tcp", "port": 9000, "path": "/ignored"}]}"#;
        let hc = run(text, &u, &settings()).unwrap().service.backends[0]
            .health_check
            .clone()
            .unwrap();
        assert_eq!(
            hc.probes,
            vec![
                Probe {
                    port: Port::new(8080).unwrap(),
                    kind: ProbeKind::Http {
                        path: HttpPath::new("/healthz").unwrap()
                    }
                },
                Probe {
                    port: Port::new(8443).unwrap(),
                    kind: ProbeKind::Https {
                        path: HttpPath::new("/").unwrap()
                    }
                },
                Probe {
                    port: Port::new(9000).unwrap(),
                    kind: ProbeKind::Connect
                },
            ]
        );
        assert_eq!((hc.interval_s, hc.fall), (10, 2));
    }

    #[test]
    fn bad_health_checks_are_reported_under_health_checks() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        for (check, want) in [
            (
                r#"{"protocol": "udp", "port": 53}"#,
                "check 0: udp health checks are not supported",
            ),
            (
                r#"{"protocol": "http", "port": 0}"#,
                "check 0: port 0 is outside 1-65535",
            ),
            (
                r#"{"protocol": "https", "port": 1, "path": "/a b"}"#,
                "check 0: path '/a b' is not",
            ),
            (
                r#"{"protocol": "tcp", "port": 1, "interval": 0}"#,
                "check 0: interval 0 is outside",
            ),
            (
                r#"{"protocol": "tcp", "port": 1, "retries": -1}"#,
                "check 0: retries -1 is outside",
            ),
        ] {
            let errs = field_errors(run(
                &req(&format!(r#", "health_checks": [{check}]"#)),
                &u,
                &settings(),
            ));
            assert!(errs["health_checks"].starts_with(want), "{check}: {errs:?}");
            assert_eq!(errs.len(), 1);
        }
    }

    #[test]
    fn udp_is_unsupported_naming_protocol_and_tls_termination() {
        let text = r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "1e2d", "ingress_address": null, "name": "dns", "port_mapping": {"53": 5353}, "protocol": "udp", "public": true, "sent_hash": "bd1b", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": true}"#;
        let errs = field_errors(run(text, &[unit("a/0", Some("127.0.4.5"))], &settings()));
        assert_eq!(errs.len(), 2);
        assert_eq!(errs["protocol"], "udp is not supported");
        assert_eq!(errs["tls_termination"], "not supported");
    }

    #[test]
    fn ports_outside_range_or_none_are_unsupported() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        for (mapping, want) in [
            (r#"{"9100": 70000}"#, "port 70000 is outside 1-65535"),
            (r#"{"0": 80}"#, "port 0 is outside 1-65535"),
            (r#"{"80": -1}"#, "port -1 is outside 1-65535"),
            ("{}", "at least one port pair is required"),
        ] {
            let text = format!(
                r#"{{"id": "i", "name": "m", "protocol": "tcp", "port_mapping": {mapping}}}"#
            );
            assert_eq!(
                field_errors(run(&text, &u, &settings()))["port_mapping"],
                want,
                "{mapping}"
            );
        }
    }

    #[test]
    fn bad_explicit_backend_is_unsupported() {
        let errs = field_errors(run(
            &req(r#", "backends": ["10.0.0.1\nserver x"]"#),
            &[],
            &settings(),
        ));
        assert!(
            errs["backends"].contains("is not an IP address or a DNS name"),
            "{errs:?}"
        );
    }

    #[test]
    fn public_false_binds_the_ingress_address_and_answers_it() {
        let ok = run(
            &req(r#", "public": false"#),
            &[unit("a/0", Some("127.0.4.5"))],
            &settings(),
        )
        .unwrap();
        assert_eq!(ok.address.as_str(), "127.0.4.2");
        assert_eq!(ok.service.frontends[0].bind.to_string(), "127.0.4.2:443");
    }

    #[test]
    fn public_answer_prefers_vip_then_external_hostname_then_public_address() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        let mut s = settings();
        s.external_hostname = "lb.example.com".into();
        assert_eq!(
            run(&req(""), &u, &s).unwrap().address.as_str(),
            "lb.example.com"
        );
        s.vip = "127.0.4.200".into();
        let ok = run(&req(""), &u, &s).unwrap();
        assert_eq!(
            (
                ok.address.as_str(),
                ok.service.frontends[0].bind.to_string().as_str()
            ),
            ("127.0.4.200", ":443")
        );
        s.vip = "not-an-ip".into();
        assert!(
            matches!(run(&req(""), &u, &s), Err(ErrorAnswer::ProviderError(m)) if m.as_str().contains("config vip 'not-an-ip'"))
        );
        let mut s = settings();
        s.public_address = None;
        assert_eq!(
            run(&req(""), &u, &s).unwrap().address.as_str(),
            "127.0.4.2",
            "falls back to ingress"
        );
    }

    #[test]
    fn ingress_address_is_honoured_only_for_our_addresses() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        let ok = run(&req(r#", "ingress_address": "127.0.4.2""#), &u, &settings()).unwrap();
        assert_eq!(
            (
                ok.address.as_str(),
                ok.service.frontends[0].bind.to_string().as_str()
            ),
            ("127.0.4.2", "127.0.4.2:443")
        );
        let mut s = settings();
        s.vip = "127.0.4.200".into();
        let ok = run(&req(r#", "ingress_address": "127.0.4.200""#), &u, &s).unwrap();
        assert_eq!(
            (
                ok.address.as_str(),
                ok.service.frontends[0].bind.to_string().as_str()
            ),
            ("127.0.4.200", ":443")
        );
        let errs = field_errors(run(
            &req(r#", "ingress_address": "192.0.2.9""#),
            &u,
            &settings(),
        ));
        assert_eq!(
            errs["ingress_address"],
            "'192.0.2.9' is not an address of this load balancer"
        );
    }

    #[test]
    fn tls_termination_with_a_good_pair_binds_tls_and_returns_the_file() {
        let (cert, key) = super::super::pem::tests::openssl_pair("ec", "lb.example");
        let u = [unit("a/0", Some("127.0.4.5"))];
        let body = serde_json::json!({"id": "i", "name": "secure", "protocol": "https", "port_mapping": {"443": 8080},
            "tls_termination": true, "tls_cert": cert, "tls_key": key}).to_string();
        let ok = run(&body, &u, &settings()).unwrap();
        let fe = &ok.service.frontends[0];
        assert_eq!(fe.mode, Mode::Http, "terminated https is served as http");
        let path = "/var/lib/haproxy-lb/lb-certs/lb-7-secure.pem";
        assert_eq!(
            fe.tls,
            Some(TlsBind::Certificates(vec![FilePath::new(path).unwrap()]))
        );
        assert_eq!(ok.files.len(), 1);
        assert_eq!(ok.files[0].path.as_str(), path);
        assert!(ok.files[0].contents.as_str().contains("PRIVATE KEY"));
        assert!(
            !format!("{ok:?}").contains("PRIVATE KEY"),
            "Debug must not print the key"
        );
    }

    #[test]
    fn tls_termination_with_a_bad_or_missing_pair_names_the_field() {
        let (cert, key) = super::super::pem::tests::openssl_pair("rsa", "lb.example");
        let (_, other) = super::super::pem::tests::openssl_pair("rsa", "other.example");
        let u = [unit("a/0", Some("127.0.4.5"))];
        let with = |c: Option<&str>, k: Option<&str>| {
            serde_json::json!({"id": "i", "name": "s", "protocol": "http", "port_mapping": {"443": 8080},
                "tls_termination": true, "tls_cert": c, "tls_key": k}).to_string()
        };
        let errs = field_errors(run(&with(None, None), &u, &settings()));
        assert_eq!(errs["tls_cert"], "required when tls_termination is true");
        assert_eq!(errs["tls_key"], "required when tls_termination is true");
        let errs = field_errors(run(&with(Some("garbage"), Some(&key)), &u, &settings()));
        assert_eq!(errs["tls_cert"], "no PEM CERTIFICATE block found");
        let errs = field_errors(run(&with(Some(&cert), Some(&other)), &u, &settings()));
        assert_eq!(
            errs["tls_key"],
            "the private key does not match the first certificate in tls_cert"
        );
        assert!(!errs["tls_key"].contains("BEGIN"));
    }

    #[test]
    fn hostile_request_names_still_give_valid_unique_proxy_names() {
        let u = [unit("a/0", Some("127.0.4.5"))];
        let mut seen = std::collections::BTreeSet::new();
        for name in [
            "a b",
            "a#b",
            "",
            "x".repeat(300).as_str(),
            "é",
            "a/b",
            "a-b",
        ] {
            let text = serde_json::json!({"id": "i", "name": name, "protocol": "tcp", "port_mapping": {"443": 1}}).to_string();
            let ok = run(&text, &u, &settings()).unwrap();
            let fe = ok.service.frontends[0].name.to_string();
            assert!(fe.len() <= 63, "{fe}");
            assert!(seen.insert(fe.clone()), "collision {fe}");
        }
    }
}
