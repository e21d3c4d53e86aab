//! Injection (issue 10 item 2, `spec/haproxy.md` §5): every value of
//! `tests/data/hostile-values.txt` pushed through every field of every interface
//! (`reverseproxy` unit bags incl. `services`, `all_services`, `extended_data`; `loadbalancer`
//! requests, every JSON field, the request key and `version`) and every config option, one
//! field at a time next to a valid baseline. For each run: no raw hostile value (one holding a
//! lexer, socket or shell character) occurs in the rendered `haproxy.cfg` nor in a runtime-socket
//! command, the text is printable ASCII, and no rejection or config problem message carries a
//! raw control character (they reach `status-set` and `juju-log` as one line).

mod hostile;

use haproxy_lb::interfaces::{Bag, RelationSnapshot};
use haproxy_lb::juju::{AppName, UnitName};
use hostile::*;
use serde_json::{json, Map, Value};

type Case = (Map<String, Value>, Vec<RelationSnapshot>);

fn plain_unit(pairs: &[(&str, &str)]) -> Vec<RelationSnapshot> {
    vec![reverseproxy(1, "web", vec![unit("web/0", bag(pairs))])]
}

fn base_unit() -> Bag {
    bag(&[("private-address", "127.0.7.10"), ("port", "8080")])
}

fn with_key(key: &str, value: &str) -> Vec<RelationSnapshot> {
    let mut b = base_unit();
    b.insert(key.to_owned(), value.to_owned());
    vec![reverseproxy(1, "web", vec![unit("web/0", b)])]
}

/// A valid `services` entry with `field` replaced by `value` (a JSON value, YAML-dumped).
fn services_entry(field: &str, value: Value) -> String {
    let mut entry = json!({
        "service_name": "websvc",
        "service_host": "0.0.0.0",
        "service_port": 60081,
        "service_options": ["balance leastconn"],
        "server_options": "maxconn 100 check",
        "servers": [["s1", "127.0.7.10", 8080, "check"]],
        "backends": [{"backend_name": "other", "servers": [["s2", "127.0.7.11", 8080, null]]}]
    });
    match entry.pointer_mut(&format!("/{field}")) {
        Some(slot) => *slot = value,
        None => {
            entry[field] = value;
        }
    }
    serde_yaml::to_string(&vec![entry]).unwrap()
}

const SERVICES_FIELDS: &[&str] = &[
    "service_name",
    "service_host",
    "service_port",
    "service_options/0",
    "server_options",
    "servers/0/0",
    "servers/0/1",
    "servers/0/2",
    "servers/0/3",
    "backends/0/backend_name",
    "backends/0/servers/0/0",
    "backends/0/servers/0/1",
    "backends/0/servers/0/3",
];

fn lb_case(mutate: impl Fn(&mut Map<String, Value>) -> Option<String>) -> Vec<RelationSnapshot> {
    let mut request = lb_request("api", 60443, 6443, &["127.0.7.20"]);
    let key = mutate(request.as_object_mut().unwrap()).unwrap_or_else(|| "request_api".into());
    let app_bag = bag(&[("version", "1"), (&key, &request.to_string())]);
    vec![lb_consumer(
        2,
        "edge",
        app_bag,
        vec![unit("edge/0", bag(&[("ingress-address", "127.0.7.21")]))],
    )]
}

/// Every way of putting `v` into one field, named.
fn cases(v: &str) -> Vec<(String, Case)> {
    let none = Map::new;
    let mut out: Vec<(String, Case)> = Vec::new();
    let mut push = |name: String, case: Case| out.push((name, case));

    // reverseproxy, plain unit keys (spec/http.md §1).
    for key in [
        "port",
        "private-address",
        "service_name",
        "sitenames",
        "services",
        "all_services",
        "extended_data",
    ] {
        push(format!("reverseproxy {key}"), (none(), with_key(key, v)));
    }
    push(
        "reverseproxy ingress-address".into(),
        (
            none(),
            plain_unit(&[("ingress-address", v), ("port", "8080")]),
        ),
    );
    push(
        "reverseproxy hostname".into(),
        (none(), plain_unit(&[("hostname", v), ("port", "8080")])),
    );
    push("reverseproxy key name".into(), (none(), with_key(v, "x")));
    // Unit and application names come from `relation-list`, parsed by `juju::names`: only the
    // ones that parser lets through can reach an interface (the rest fail the hook).
    if format!("web/{v}").parse::<UnitName>().is_ok() {
        push(
            "reverseproxy unit name".into(),
            (
                none(),
                vec![reverseproxy(
                    1,
                    "web",
                    vec![unit(&format!("web/{v}"), base_unit())],
                )],
            ),
        );
    }
    if v.parse::<AppName>().is_ok() {
        push(
            "reverseproxy app name".into(),
            (
                none(),
                vec![reverseproxy(1, v, vec![unit("web/0", base_unit())])],
            ),
        );
    }
    for field in ["hostname", "port", "private-address"] {
        let mut extra =
            json!({"hostname": "127.0.7.12", "port": 8081, "private-address": "127.0.7.12"});
        extra[field] = json!(v);
        push(
            format!("reverseproxy extended_data {field}"),
            (
                none(),
                with_key("extended_data", &json!([extra]).to_string()),
            ),
        );
    }
    // `services` and `all_services` documents from a unit, and the `services` option.
    for field in SERVICES_FIELDS {
        let forms = if field.contains("options") {
            vec![json!(v), json!(format!("balance {v}")), json!([v])]
        } else {
            vec![json!(v)]
        };
        for wrapped in forms {
            let doc = services_entry(field, wrapped.clone());
            push(
                format!("reverseproxy services {field} = {wrapped}"),
                (none(), with_key("services", &doc)),
            );
            push(
                format!("reverseproxy all_services {field} = {wrapped}"),
                (none(), with_key("all_services", &doc)),
            );
            let mut config = Map::new();
            config.insert("services".into(), json!(doc));
            push(
                format!("config services {field} = {wrapped}"),
                (config, vec![]),
            );
        }
    }
    for (field, value) in [
        (
            "errorfiles",
            json!([{"http_status": v, "content": "SFRUUC8xLjAgNTAzCgo="}]),
        ),
        ("errorfiles", json!([{"http_status": 503, "content": v}])),
        ("crts", json!([v])),
        (
            "service_options",
            json!([format!("http-request set-header X-A {v}")]),
        ),
        ("service_options", json!([format!("acl a path_beg {v}")])),
        ("service_options", json!(format!("timeout client {v}"))),
    ] {
        let doc = services_entry(field, value.clone());
        push(
            format!("reverseproxy services {field} = {value}"),
            (none(), with_key("services", &doc)),
        );
        let mut config = Map::new();
        config.insert("services".into(), json!(doc));
        push(
            format!("config services {field} = {value}"),
            (config, vec![]),
        );
    }

    // loadbalancer requests (spec/loadbalancer.md §2): every field, as a string and in a list.
    for field in [
        "id",
        "name",
        "protocol",
        "backends",
        "algorithm",
        "ingress_address",
        "sent_hash",
        "tls_cert",
        "tls_key",
        "sticky",
        "public",
    ] {
        for value in [json!(v), json!([v])] {
            push(
                format!("lb {field} = {value}"),
                (
                    none(),
                    lb_case(|r| {
                        r.insert(field.to_owned(), value.clone());
                        if field.starts_with("tls_") {
                            r.insert("tls_termination".into(), json!(true));
                        }
                        None
                    }),
                ),
            );
        }
    }
    push(
        "lb port_mapping key".into(),
        (
            none(),
            lb_case(|r| {
                r.insert("port_mapping".into(), json!({v: 6443}));
                None
            }),
        ),
    );
    push(
        "lb port_mapping value".into(),
        (
            none(),
            lb_case(|r| {
                r.insert("port_mapping".into(), json!({"60443": v}));
                None
            }),
        ),
    );
    for hc_field in ["protocol", "path", "port", "interval", "retries"] {
        push(
            format!("lb health_checks {hc_field}"),
            (
                none(),
                lb_case(|r| {
                    let mut hc = json!({"protocol": "http", "port": 6443, "path": "/healthz", "interval": 30, "retries": 3});
                    hc[hc_field] = json!(v);
                    r.insert("health_checks".into(), json!([hc]));
                    None
                }),
            ),
        );
    }
    push(
        "lb request key and name".into(),
        (
            none(),
            lb_case(|r| {
                r.insert("name".into(), json!(v));
                Some(format!("request_{v}"))
            }),
        ),
    );
    push(
        "lb version".into(),
        (
            none(),
            vec![lb_consumer(
                2,
                "edge",
                bag(&[
                    ("version", v),
                    (
                        "request_api",
                        &lb_request("api", 60443, 6443, &["127.0.7.20"]).to_string(),
                    ),
                ]),
                vec![],
            )],
        ),
    );
    push(
        "lb unit ingress-address (default backends)".into(),
        (
            none(),
            vec![lb_consumer(
                2,
                "edge",
                bag(&[
                    ("version", "1"),
                    (
                        "request_api",
                        &lb_request("api", 60443, 6443, &[]).to_string(),
                    ),
                ]),
                vec![unit("edge/0", bag(&[("ingress-address", v)]))],
            )],
        ),
    );

    // Every config option (config.yaml), with the stats listener on so its options render.
    for option in [
        "ssl_cert",
        "ssl_key",
        "default_mode",
        "default_options",
        "default_retries",
        "default_timeouts",
        "global_maxconn",
        "global_hard_stop_after",
        "global_default_bind_options",
        "monitoring_port",
        "monitoring_allowed_cidr",
        "monitoring_username",
        "monitoring_password",
        "monitoring_stats_refresh",
        "vip",
        "external_hostname",
    ] {
        for value in [json!(v), json!(format!("5m, {v}"))] {
            let mut config = Map::new();
            if option.starts_with("monitoring_") {
                // The stats listener renders these; hashing the password is slow (debug
                // build), so it is on only where it matters.
                config.insert("enable_monitoring".into(), json!(true));
                config.insert("monitoring_password".into(), json!("S3cret-pw"));
            }
            config.insert(option.into(), value.clone());
            push(
                format!("config {option} = {value}"),
                (config, lb_case(|_| None)),
            );
        }
    }
    out
}

/// Runs every case of every value in `values`; (runs, services rendered).
fn check_values(
    values: &[String],
    hostile: &[&String],
    hostile_socket: &[&String],
) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = 0usize;
    let mut rendered_services = 0usize;
    for v in values {
        for (field, (config, relations)) in cases(v) {
            let files = dir.path().join("files");
            // One state dir, as on a unit: a refused config value falls back to the last valid
            // set, which is always a baseline config here.
            let state = dir.path().join("state");
            let run = pipeline(&config, &relations, &files, &state);
            let what = format!("{field} <- {v:?}");
            assert_clean(&what, &run.text, hostile);
            let commands: String = weight_commands(&run.plan)
                .iter()
                .map(|c| format!("{c}\n"))
                .collect();
            assert_clean(
                &format!("{what} (runtime socket)"),
                &commands,
                hostile_socket,
            );
            for message in &run.messages {
                assert!(
                    !message.contains(['\n', '\r', '\0']),
                    "{what}: a raw control character in the message {message:?}"
                );
            }
            runs += 1;
            rendered_services += run.plan.services.len();
        }
    }
    (runs, rendered_services)
}

#[test]
fn hostile_values_never_reach_the_config_or_the_runtime_socket() {
    let values = corpus();
    assert!(values.len() >= 80, "corpus shrank: {} values", values.len());
    let hostile = scannable(&values, Channel::Config);
    let hostile_socket = scannable(&values, Channel::Socket);
    // The values split over the cores: thousands of pure runs, each independent.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = values.len().div_ceil(threads);
    let (runs, rendered_services) = std::thread::scope(|scope| {
        let workers: Vec<_> = values
            .chunks(chunk)
            .map(|part| {
                let (hostile, hostile_socket) = (&hostile, &hostile_socket);
                scope.spawn(move || check_values(part, hostile, hostile_socket))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0, 0), |(r, s), (r2, s2)| (r + r2, s + s2))
    });
    // Proof the baseline renders: many runs still serve the untouched services (a hostile value
    // in a `services` entry refuses that entry, so not every run has one).
    assert!(
        rendered_services > runs / 3,
        "{rendered_services} services in {runs} runs"
    );
    eprintln!(
        "injection: {} values x fields = {runs} pipeline runs, {} values scanned in haproxy.cfg, {} on the socket, {rendered_services} services rendered",
        values.len(),
        hostile.len(),
        hostile_socket.len()
    );
}

#[test]
fn unit_and_app_names_with_hostile_characters_never_parse() {
    let values = corpus();
    let mut refused = 0;
    for v in scannable(&values, Channel::Config) {
        assert!(
            format!("web/{v}").parse::<UnitName>().is_err(),
            "unit name {v:?}"
        );
        assert!(v.parse::<AppName>().is_err(), "app name {v:?}");
        refused += 1;
    }
    eprintln!("names: {refused} hostile unit and app names refused by juju::names");
}

#[test]
fn the_corpus_decodes_its_escapes() {
    assert_eq!(decode("a\\nb\\t\\0\\\\\\x23"), "a\nb\t\0\\#");
    assert_eq!(decode("\\u{200b}\\L{3}"), "\u{200b}aaa");
    let values = corpus();
    assert!(values.iter().any(|v| v.len() == 5000));
    assert!(values.iter().any(|v| v.contains('\0')));
    assert!(values.iter().any(|v| v.starts_with('#')));
}
