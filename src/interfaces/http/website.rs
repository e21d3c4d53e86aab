//! What we publish on the `http` interface (`spec/http.md` §1, §4): our unit bag on each
//! `website` relation (`hostname`, `port`, `all_services`) and on each `reverseproxy` relation
//! (`public-address`, `ssl_cert`).
//!
//! Computed from the built plan (which services were accepted) and the reverseproxy outcome
//! (their contents). Never publishes `crts` or `errorfiles`, never a private key. Pure: the
//! caller writes the result with `relation-set` (an empty value deletes a key).

use super::base64;
use super::reverseproxy::{Outcome, PublishedServer, PublishedService};
use crate::interfaces::{Bag, RelationSnapshot};
use crate::plan::{LoadBalancerPlan, Origin};
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;

/// The keys we own in our `website` unit bag (`private-address` & co. are Juju's).
pub const WEBSITE_KEYS: [&str; 3] = ["all_services", "hostname", "port"];
/// The keys we own in our `reverseproxy` unit bag.
pub const REVERSEPROXY_KEYS: [&str; 2] = ["public-address", "ssl_cert"];

/// The http services that made it into the plan, sorted by name.
fn rendered<'a>(plan: &LoadBalancerPlan, outcome: &'a Outcome) -> Vec<&'a PublishedService> {
    let mut services: Vec<&PublishedService> = outcome
        .published
        .iter()
        .filter(|p| {
            plan.services
                .iter()
                .any(|s| matches!(s.origin, Origin::Config | Origin::Http) && s.service == p.name)
        })
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    services
}

/// The `service_name` every consumer unit asks for, when they all ask for the same one.
fn requested(relation: &RelationSnapshot) -> Option<&str> {
    let mut names = relation
        .units
        .iter()
        .map(|u| u.bag.get("service_name").filter(|n| !n.is_empty()));
    let first = names.next()??;
    names.all(|n| n == Some(first)).then_some(first.as_str())
}

/// Our desired bag on one `website` relation (§4). Keys of [`WEBSITE_KEYS`] missing from it
/// must be deleted.
pub fn website_bag(plan: &LoadBalancerPlan, outcome: &Outcome, relation: &RelationSnapshot) -> Bag {
    let services = rendered(plan, outcome);
    let wanted = requested(relation).and_then(|name| services.iter().find(|s| s.name == name));
    let mut bag = Bag::new();
    let hostname = wanted
        .and_then(|s| s.host.specific())
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| relation.ingress_address.clone());
    if !hostname.is_empty() {
        bag.insert("hostname".to_owned(), hostname);
    }
    let port = wanted
        .or_else(|| {
            let default = outcome.default_service.as_deref()?;
            services.iter().find(|s| s.name == default)
        })
        .map(|s| s.port)
        .or_else(|| services.iter().map(|s| s.port).min());
    if let Some(port) = port {
        bag.insert("port".to_owned(), port.to_string());
        bag.insert("all_services".to_owned(), all_services(&services));
    }
    bag
}

fn server_value(server: &PublishedServer) -> Value {
    Value::Sequence(vec![
        Value::String(server.name.clone()),
        Value::String(server.host.clone()),
        Value::Number(server.port.into()),
        strings(&server.options),
    ])
}

fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().cloned().map(Value::String).collect())
}

fn key(name: &str) -> Value {
    Value::String(name.to_owned())
}

/// The `all_services` YAML: one mapping per service, keys in alphabetical order, ports as
/// integers, no `crts` or `errorfiles` (§4).
pub fn all_services(services: &[&PublishedService]) -> String {
    let list: Vec<Value> = services
        .iter()
        .map(|s| {
            let mut m = Mapping::new();
            if !s.backends.is_empty() {
                let backends = s
                    .backends
                    .iter()
                    .map(|(name, servers)| {
                        let mut b = Mapping::new();
                        b.insert(key("backend_name"), Value::String(name.clone()));
                        b.insert(
                            key("servers"),
                            Value::Sequence(servers.iter().map(server_value).collect()),
                        );
                        Value::Mapping(b)
                    })
                    .collect();
                m.insert(key("backends"), Value::Sequence(backends));
            }
            m.insert(key("server_options"), strings(&s.server_options));
            m.insert(
                key("servers"),
                Value::Sequence(s.servers.iter().map(server_value).collect()),
            );
            m.insert(key("service_host"), Value::String(s.host.to_wire()));
            m.insert(key("service_name"), Value::String(s.name.clone()));
            m.insert(key("service_options"), strings(&s.service_options));
            m.insert(key("service_port"), Value::Number(s.port.get().into()));
            Value::Mapping(m)
        })
        .collect();
    // Serializing a Value built from strings and integers cannot fail; fall back to an empty
    // list rather than panic in a hook.
    serde_yaml::to_string(&Value::Sequence(list)).unwrap_or_else(|_| "[]\n".to_owned())
}

/// Only the `CERTIFICATE` blocks of a PEM (a combined file also holds the key).
fn certificates_only(pem: &[u8]) -> String {
    let text = String::from_utf8_lossy(pem);
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim() == "-----BEGIN CERTIFICATE-----" {
            inside = true;
        }
        if inside {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if line.trim() == "-----END CERTIFICATE-----" {
            inside = false;
        }
    }
    out
}

/// Our desired bag on a `reverseproxy` relation (§1): `public-address`, and `ssl_cert` (plain
/// base64 of the certificate PEM, never the key) only when a default certificate exists.
pub fn reverseproxy_bag(public_address: &str, default_cert_pem: Option<&[u8]>) -> Bag {
    let mut bag = Bag::new();
    if !public_address.is_empty() {
        bag.insert("public-address".to_owned(), public_address.to_owned());
    }
    if let Some(pem) = default_cert_pem {
        let certs = certificates_only(pem);
        if !certs.is_empty() {
            bag.insert("ssl_cert".to_owned(), base64::encode(certs.as_bytes()));
        }
    }
    bag
}

/// What to `relation-set`: changed keys with their value, owned keys that must go as `""`.
pub fn changes(current: &Bag, desired: &Bag, owned: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in desired {
        if current.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in owned {
        if !desired.contains_key(*k) && current.contains_key(*k) {
            out.insert((*k).to_owned(), String::new());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interfaces::http::services::BindHost;
    use crate::interfaces::RemoteUnit;
    use crate::plan::{GlobalSettings, PlannedService, Port, Source};

    fn port(p: u16) -> Port {
        Port::new(p).unwrap()
    }

    fn service(name: &str, host: &str, p: u16) -> PublishedService {
        PublishedService {
            name: name.to_owned(),
            host: if host == "*" {
                BindHost::Any
            } else {
                BindHost::Ip(host.parse().unwrap())
            },
            port: port(p),
            service_options: vec![
                "balance leastconn".to_owned(),
                "cookie SRVNAME insert".to_owned(),
            ],
            server_options: vec![
                "maxconn 100".to_owned(),
                "cookie S{i}".to_owned(),
                "check".to_owned(),
            ],
            servers: vec![
                PublishedServer {
                    name: "web-0-8080".to_owned(),
                    host: "10.0.0.11".to_owned(),
                    port: 8080,
                    options: vec![
                        "maxconn 100".to_owned(),
                        "cookie S0".to_owned(),
                        "check".to_owned(),
                    ],
                },
                PublishedServer {
                    name: "web-1-8080".to_owned(),
                    host: "10.0.0.12".to_owned(),
                    port: 8080,
                    options: vec![
                        "maxconn 100".to_owned(),
                        "cookie S1".to_owned(),
                        "check".to_owned(),
                    ],
                },
            ],
            backends: Vec::new(),
        }
    }

    fn plan_with(names: &[&str]) -> LoadBalancerPlan {
        LoadBalancerPlan {
            global: GlobalSettings::default(),
            frontends: Vec::new(),
            backends: Vec::new(),
            userlists: Vec::new(),
            stats: None,
            services: names
                .iter()
                .map(|n| PlannedService {
                    origin: Origin::Http,
                    source: Source::Config {
                        option: "services".into(),
                    },
                    service: (*n).to_owned(),
                    frontends: Vec::new(),
                    binds: Vec::new(),
                    backends: Vec::new(),
                })
                .collect(),
        }
    }

    fn relation(service_names: &[Option<&str>]) -> RelationSnapshot {
        RelationSnapshot {
            id: 7,
            endpoint: "website".into(),
            remote_app: "apache2".into(),
            remote_app_bag: Bag::new(),
            units: service_names
                .iter()
                .enumerate()
                .map(|(k, n)| RemoteUnit {
                    name: format!("apache2/{k}"),
                    bag: n
                        .map(|n| Bag::from([("service_name".to_owned(), n.to_owned())]))
                        .unwrap_or_default(),
                })
                .collect(),
            local_unit_bag: Bag::new(),
            local_app_bag: None,
            ingress_address: "10.0.0.2".into(),
        }
    }

    fn outcome(services: Vec<PublishedService>, default: Option<&str>) -> Outcome {
        Outcome {
            published: services,
            default_service: default.map(str::to_owned),
            ..Outcome::default()
        }
    }

    /// Wire contract: reviewed by hand against §4 (keys alphabetical, ports integers, servers
    /// `[name, host, port, [options]]`, no crts/errorfiles).
    const GOLDEN_ALL_SERVICES: &str = "\
- backends:
  - backend_name: api
    servers:
    - - api-0-9080
      - 10.0.0.21
      - 9080
      - - check
  server_options:
  - maxconn 100
  - cookie S{i}
  - check
  servers:
  - - web-0-8080
    - 10.0.0.11
    - 8080
    - - maxconn 100
      - cookie S0
      - check
  - - web-1-8080
    - 10.0.0.12
    - 8080
    - - maxconn 100
      - cookie S1
      - check
  service_host: 10.0.0.2
  service_name: app
  service_options:
  - balance leastconn
  - cookie SRVNAME insert
  service_port: 81
- server_options:
  - maxconn 100
  - cookie S{i}
  - check
  servers:
  - - web-0-8080
    - 10.0.0.11
    - 8080
    - - maxconn 100
      - cookie S0
      - check
  - - web-1-8080
    - 10.0.0.12
    - 8080
    - - maxconn 100
      - cookie S1
      - check
  service_host: 0.0.0.0
  service_name: haproxy_service
  service_options:
  - balance leastconn
  - cookie SRVNAME insert
  service_port: 80
";

    #[test]
    fn website_bag_exact_bytes() {
        let mut app = service("app", "10.0.0.2", 81);
        app.backends = vec![(
            "api".to_owned(),
            vec![PublishedServer {
                name: "api-0-9080".to_owned(),
                host: "10.0.0.21".to_owned(),
                port: 9080,
                options: vec!["check".to_owned()],
            }],
        )];
        let out = outcome(
            vec![service("haproxy_service", "0.0.0.0", 80), app],
            Some("haproxy_service"),
        );
        let bag = website_bag(
            &plan_with(&["haproxy_service", "app"]),
            &out,
            &relation(&[None]),
        );
        assert_eq!(bag.get("hostname").map(String::as_str), Some("10.0.0.2"));
        assert_eq!(bag.get("port").map(String::as_str), Some("80"));
        assert_eq!(
            bag.get("all_services").map(String::as_str),
            Some(GOLDEN_ALL_SERVICES)
        );
        assert_eq!(bag.len(), 3);
    }

    #[test]
    fn all_services_parses_back_with_our_own_schema() {
        let out = outcome(vec![service("haproxy_service", "0.0.0.0", 80)], None);
        let text = all_services(&out.published.iter().collect::<Vec<_>>());
        let items = crate::interfaces::http::services::parse_document(&text).unwrap();
        let (entry, _) = crate::interfaces::http::services::parse_entry(
            &items[0],
            crate::interfaces::http::services::Trust::Relation,
        )
        .unwrap();
        assert_eq!(entry.servers.len(), 2);
        assert_eq!(entry.port, Some(port(80)));
    }

    #[test]
    fn requested_service_with_specific_host_sets_hostname_and_port() {
        let out = outcome(
            vec![
                service("haproxy_service", "0.0.0.0", 80),
                service("app", "10.0.0.9", 81),
            ],
            Some("haproxy_service"),
        );
        let plan = plan_with(&["haproxy_service", "app"]);
        let bag = website_bag(&plan, &out, &relation(&[Some("app"), Some("app")]));
        assert_eq!(bag["hostname"], "10.0.0.9");
        assert_eq!(bag["port"], "81");
        // Units disagree: ingress address and the default service's port.
        let bag = website_bag(&plan, &out, &relation(&[Some("app"), None]));
        assert_eq!(bag["hostname"], "10.0.0.2");
        assert_eq!(bag["port"], "80");
        // A requested service on a wildcard keeps the ingress address.
        let bag = website_bag(&plan, &out, &relation(&[Some("haproxy_service")]));
        assert_eq!(bag["hostname"], "10.0.0.2");
    }

    #[test]
    fn port_falls_back_to_lowest_rendered_and_unrendered_services_are_not_published() {
        let out = outcome(
            vec![
                service("b", "0.0.0.0", 90),
                service("c", "0.0.0.0", 85),
                service("a", "*", 70),
            ],
            Some("haproxy_service"),
        );
        let bag = website_bag(&plan_with(&["b", "c"]), &out, &relation(&[None]));
        assert_eq!(bag["port"], "85");
        assert!(!bag["all_services"].contains("service_name: a\n"));
    }

    #[test]
    fn nothing_rendered_leaves_only_hostname_and_deletes_the_rest() {
        let out = outcome(vec![service("a", "0.0.0.0", 80)], Some("a"));
        let bag = website_bag(&plan_with(&[]), &out, &relation(&[None]));
        assert_eq!(
            bag,
            Bag::from([("hostname".to_owned(), "10.0.0.2".to_owned())])
        );
        let current = Bag::from([
            ("hostname".to_owned(), "10.0.0.2".to_owned()),
            ("port".to_owned(), "80".to_owned()),
            ("all_services".to_owned(), "- x".to_owned()),
            ("private-address".to_owned(), "10.0.0.2".to_owned()),
        ]);
        let delta = changes(&current, &bag, &WEBSITE_KEYS);
        assert_eq!(
            delta,
            BTreeMap::from([
                ("all_services".to_owned(), String::new()),
                ("port".to_owned(), String::new())
            ])
        );
    }

    #[test]
    fn all_services_never_carries_crts_or_errorfiles() {
        let out = outcome(vec![service("a", "0.0.0.0", 80)], Some("a"));
        let bag = website_bag(&plan_with(&["a"]), &out, &relation(&[None]));
        assert!(!bag["all_services"].contains("crts"));
        assert!(!bag["all_services"].contains("errorfiles"));
    }

    #[test]
    fn reverseproxy_bag_publishes_certificate_without_key() {
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n";
        let bag = reverseproxy_bag("203.0.113.5", Some(pem));
        assert_eq!(bag["public-address"], "203.0.113.5");
        let decoded = base64::decode(&bag["ssl_cert"]).unwrap();
        assert_eq!(
            decoded,
            b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        );
        assert!(!bag["ssl_cert"].starts_with("b'"));
        let bag = reverseproxy_bag("203.0.113.5", None);
        assert_eq!(bag.len(), 1);
    }
}
