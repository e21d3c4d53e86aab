//! §3 at request level: the worked examples of §8 and the §9 checklist items this module owns.

use super::*;
use crate::interfaces::http::base64;
use crate::plan::HostPort;

const DEFAULT_SERVICES: &str = "- service_name: haproxy_service
  service_host: \"0.0.0.0\"
  service_port: 80
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check
";

fn unit(name: &str, pairs: &[(&str, &str)]) -> RemoteUnit {
    RemoteUnit {
        name: name.to_owned(),
        bag: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn rel(id: u64, app: &str, units: Vec<RemoteUnit>) -> RelationSnapshot {
    RelationSnapshot {
        id,
        endpoint: REVERSEPROXY.to_owned(),
        remote_app: app.to_owned(),
        remote_app_bag: Bag::new(),
        units,
        local_unit_bag: Bag::new(),
        local_app_bag: None,
        ingress_address: "10.0.0.2".to_owned(),
    }
}

fn paths() -> Paths {
    Paths {
        cert_dir: FilePath::new("/var/lib/haproxy-lb/certs").unwrap(),
        errorfile_dir: FilePath::new("/var/lib/haproxy-lb/errorfiles").unwrap(),
    }
}

fn run_with(
    config: &str,
    relations: Vec<RelationSnapshot>,
    default_cert: Option<&FilePath>,
) -> Outcome {
    let (config_services, warnings) = parse_config_services(config).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let paths = paths();
    let exists = |p: &FilePath| p.as_str().ends_with("/ext.pem");
    parse(&Inputs {
        our_unit: "haproxy-lb/0",
        config_services: &config_services,
        monitoring_port: 10000,
        relations: &relations,
        paths: &paths,
        default_cert,
        file_exists: &exists,
    })
}

fn run(config: &str, relations: Vec<RelationSnapshot>) -> Outcome {
    run_with(config, relations, None)
}

/// The request as the spec's examples print it (frontend lines, then each backend).
fn describe(request: &ServiceRequest) -> String {
    let mut out = String::new();
    for fe in &request.frontends {
        out.push_str(&format!("frontend {}\n    bind {}", fe.name, fe.bind));
        if let Some(TlsBind::Certificates(certs)) = &fe.tls {
            for c in certs {
                out.push_str(&format!(" ssl crt {c}"));
            }
        }
        out.push('\n');
        for d in &fe.directives {
            out.push_str(&format!("    {d}\n"));
        }
        if let Some(b) = &fe.default_backend {
            out.push_str(&format!("    default_backend {b}\n"));
        }
    }
    for be in &request.backends {
        out.push_str(&format!("backend {}\n", be.name));
        for d in &be.directives {
            out.push_str(&format!("    {d}\n"));
        }
        for (status, path) in &be.errorfiles {
            out.push_str(&format!("    errorfile {status} {path}\n"));
        }
        for s in &be.servers {
            out.push_str(&format!(
                "    server {} {}",
                s.name,
                HostPort(&s.host, s.port)
            ));
            for o in &s.options {
                out.push_str(&format!(" {o}"));
            }
            out.push('\n');
        }
    }
    out
}

fn described(out: &Outcome, service: &str) -> String {
    out.requests
        .iter()
        .find(|r| r.service == service)
        .map(describe)
        .unwrap_or_else(|| panic!("no request {service}: {:?}", out.rejections))
}

fn messages(out: &Outcome) -> Vec<String> {
    out.rejections.iter().map(|r| r.to_string()).collect()
}

fn server_names(out: &Outcome, service: &str, backend: &str) -> Vec<String> {
    out.requests
        .iter()
        .find(|r| r.service == service)
        .and_then(|r| r.backends.iter().find(|b| b.name.as_str() == backend))
        .map(|b| b.servers.iter().map(|s| s.name.to_string()).collect())
        .unwrap_or_default()
}

fn example_a_units() -> Vec<RemoteUnit> {
    vec![
        unit(
            "web/0",
            &[("private-address", "10.0.0.11"), ("port", "8080")],
        ),
        unit(
            "web/1",
            &[
                ("private-address", "10.0.0.12"),
                ("hostname", "web-1"),
                ("port", "8080"),
            ],
        ),
    ]
}

#[test]
fn example_a_plain_units_join_the_default_service() {
    let out = run(DEFAULT_SERVICES, vec![rel(1, "web", example_a_units())]);
    assert_eq!(messages(&out), Vec::<String>::new());
    assert_eq!(out.requests.len(), 1);
    assert_eq!(
        described(&out, "haproxy_service"),
        "frontend haproxy-lb-0-80
    bind 0.0.0.0:80
    default_backend haproxy_service
backend haproxy_service
    balance leastconn
    cookie SRVNAME insert
    server web-0-8080 10.0.0.11:8080 maxconn 100 cookie S0 check
    server web-1-8080 10.0.0.12:8080 maxconn 100 cookie S1 check
"
    );
    assert_eq!(out.requests[0].origin, Origin::Config);
    assert_eq!(out.default_service.as_deref(), Some("haproxy_service"));
}

const EXAMPLE_B_LS0: &str = "- service_name: landscape-http
  service_port: 80
  service_options: [mode http, acl api path_beg -i /api, use_backend landscape-http-api if api]
  servers: [[landscape-appserver-ls-0, 10.0.0.21, 8080, [check, inter 5000]]]
  backends: [{backend_name: landscape-http-api, servers: [[landscape-api-ls-0, 10.0.0.21, 9080, [check]]]}]
";

const EXAMPLE_B_LS1: &str = "- service_name: landscape-http
  service_port: 80
  service_options: [mode http, acl api path_beg -i /api, use_backend landscape-http-api if api]
  servers: [[landscape-appserver-ls-1, 10.0.0.22, 8080, [check, inter 5000]]]
  backends: [{backend_name: landscape-http-api, servers: []}]
";

#[test]
fn example_b_services_with_an_extra_backend() {
    let out = run(
        "",
        vec![rel(
            2,
            "ls",
            vec![
                unit(
                    "ls/0",
                    &[
                        ("private-address", "10.0.0.21"),
                        ("services", EXAMPLE_B_LS0),
                    ],
                ),
                unit(
                    "ls/1",
                    &[
                        ("private-address", "10.0.0.22"),
                        ("services", EXAMPLE_B_LS1),
                    ],
                ),
            ],
        )],
    );
    assert_eq!(messages(&out), Vec::<String>::new());
    assert_eq!(
        described(&out, "landscape-http"),
        "frontend haproxy-lb-0-80
    bind 0.0.0.0:80
    mode http
    acl api path_beg -i /api
    use_backend landscape-http-api if api
    default_backend landscape-http
backend landscape-http
    mode http
    server landscape-appserver-ls-0 10.0.0.21:8080 check inter 5000
    server landscape-appserver-ls-1 10.0.0.22:8080 check inter 5000
backend landscape-http-api
    mode http
    server landscape-api-ls-0 10.0.0.21:9080 check
"
    );
    assert_eq!(out.requests[0].origin, Origin::Http);
    assert_eq!(out.default_service.as_deref(), Some("landscape-http"));
}

#[test]
fn example_b_with_default_config_the_empty_default_service_claims_nothing() {
    let out = run(
        DEFAULT_SERVICES,
        vec![rel(
            2,
            "ls",
            vec![unit(
                "ls/0",
                &[
                    ("private-address", "10.0.0.21"),
                    ("services", EXAMPLE_B_LS0),
                ],
            )],
        )],
    );
    let names: Vec<&str> = out.requests.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(names, ["landscape-http"]);
}

#[test]
fn example_c_upstream_proxy_all_services() {
    let all = "[{service_name: app, service_port: 81, service_options: [mode http], servers: [[app-1-8080, 10.0.1.9, 8080, check]]}]";
    let out = run(
        DEFAULT_SERVICES,
        vec![rel(
            3,
            "lb",
            vec![unit(
                "lb/0",
                &[
                    ("private-address", "10.0.0.5"),
                    ("port", "80"),
                    ("all_services", all),
                ],
            )],
        )],
    );
    assert_eq!(messages(&out), Vec::<String>::new());
    assert_eq!(
        described(&out, "app"),
        "frontend haproxy-lb-0-81
    bind 0.0.0.0:81
    mode http
    default_backend app
backend app
    mode http
    server lb-0-81 10.0.0.5:81 check
"
    );
    assert_eq!(
        server_names(&out, "haproxy_service", "haproxy_service"),
        ["lb-0-80"]
    );
    assert!(described(&out, "haproxy_service")
        .contains("server lb-0-80 10.0.0.5:80 maxconn 100 cookie S0 check"));
}

#[test]
fn example_c_upstream_servers_without_options_use_server_options_and_drop_crts() {
    let pem = base64::encode(b"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----\n");
    let all = format!("[{{service_name: app, service_port: 81, server_options: [check inter 2s], crts: ['{pem}', /etc/haproxy/certs], errorfiles: [{{http_status: 999, content: x}}], servers: [[a, 10.0.1.9, 8080]]}}]");
    let out = run(
        "",
        vec![rel(
            3,
            "lb",
            vec![unit(
                "lb/0",
                &[("private-address", "10.0.0.5"), ("all_services", &all)],
            )],
        )],
    );
    assert!(described(&out, "app").contains("server lb-0-81 10.0.0.5:81 check inter 2s\n"));
    assert_eq!(messages(&out), Vec::<String>::new());
    assert!(out.files.is_empty());
    assert!(out.requests[0].frontends[0].tls.is_none());
}

#[test]
fn example_d_bad_input_is_confined() {
    let lua = "- {service_name: evil, service_port: 90, service_options: [lua-load x.lua], servers: [[e, 10.0.0.40, 80]]}\n- {service_name: fine, service_port: 91, servers: [[f, 10.0.0.41, 80]]}";
    let s0 = "- {service_name: api, service_port: 92, service_options: [balance roundrobin], servers: [[s-0, 10.0.0.50, 80]]}";
    let s1 = "- {service_name: api, service_port: 92, service_options: [balance source], servers: [[s-1, 10.0.0.51, 80]]}";
    let mut units = example_a_units();
    units.push(unit(
        "web/2",
        &[("private-address", "10.0.0.13"), ("port", "http")],
    ));
    let out = run(
        DEFAULT_SERVICES,
        vec![
            rel(1, "web", units),
            rel(
                4,
                "x",
                vec![unit(
                    "x/0",
                    &[("private-address", "10.0.0.40"), ("services", lua)],
                )],
            ),
            rel(
                5,
                "s",
                vec![
                    unit("s/0", &[("services", s0)]),
                    unit("s/1", &[("services", s1)]),
                ],
            ),
        ],
    );
    let msgs = messages(&out);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[0], "x/0: evil: service_options 'lua-load x.lua' is not an allow-listed HAProxy directive (http.md §5)");
    assert_eq!(msgs[1], "web/2: port 'http' is not a number 1-65535");
    // A unchanged.
    assert_eq!(
        server_names(&out, "haproxy_service", "haproxy_service"),
        ["web-0-8080", "web-1-8080"]
    );
    // The rest of x/0 served.
    assert_eq!(server_names(&out, "fine", "fine"), ["f"]);
    // s/0's options win, servers merged.
    let api = described(&out, "api");
    assert!(
        api.contains("    balance roundrobin\n") && !api.contains("balance source"),
        "{api}"
    );
    assert_eq!(server_names(&out, "api", "api"), ["s-0", "s-1"]);
}

#[test]
fn checklist_2_address_order() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("private-address", "10.0.0.1"),
                ("ingress-address", "10.0.0.2"),
                ("hostname", "h"),
            ],
            "10.0.0.1:80",
        ),
        (
            &[
                ("private-address", "not an ip"),
                ("ingress-address", "10.0.0.2"),
                ("hostname", "h"),
            ],
            "10.0.0.2:80",
        ),
        (
            &[("ingress-address", "10.0.0.2"), ("hostname", "h")],
            "10.0.0.2:80",
        ),
        (&[("hostname", "web-1.internal")], "web-1.internal:80"),
    ];
    for (pairs, expected) in cases {
        let mut pairs = pairs.to_vec();
        pairs.push(("port", "80"));
        let out = run(
            DEFAULT_SERVICES,
            vec![rel(1, "web", vec![unit("web/0", &pairs)])],
        );
        assert!(
            described(&out, "haproxy_service").contains(&format!("server web-0-80 {expected} ")),
            "{pairs:?}"
        );
    }
}

#[test]
fn checklist_4_units_without_port_or_address_wait_silently() {
    let out = run(
        DEFAULT_SERVICES,
        vec![rel(
            1,
            "web",
            vec![
                unit("web/0", &[("private-address", "10.0.0.1")]),
                unit("web/1", &[("port", "80")]),
                unit("web/2", &[("private-address", "10.0.0.3"), ("port", "80")]),
            ],
        )],
    );
    assert!(out.rejections.is_empty());
    assert_eq!(
        server_names(&out, "haproxy_service", "haproxy_service"),
        ["web-2-80"]
    );
    for bad in ["0", "65536", "-1", "80 ", "abc", "8o"] {
        let out = run(
            DEFAULT_SERVICES,
            vec![rel(
                1,
                "web",
                vec![unit(
                    "web/7",
                    &[("private-address", "10.0.0.1"), ("port", bad)],
                )],
            )],
        );
        assert_eq!(
            messages(&out),
            [format!("web/7: port {} is not a number 1-65535", show(bad))]
        );
    }
}

#[test]
fn checklist_5_service_name_sitenames_and_app_matching() {
    let config = "- {service_name: main, service_port: 80}
- {service_name: web1_service, service_port: 81}
- {service_name: web2_service, service_port: 82}
- {service_name: blog, service_port: 83}
";
    let out = run(
        config,
        vec![
            rel(
                1,
                "web1",
                vec![unit(
                    "web1/0",
                    &[("private-address", "10.0.0.1"), ("port", "8080")],
                )],
            ),
            rel(
                2,
                "web2",
                vec![unit(
                    "web2/0",
                    &[
                        ("private-address", "10.0.0.2"),
                        ("port", "8080"),
                        ("sitenames", "blog nothing"),
                    ],
                )],
            ),
            rel(
                3,
                "other",
                vec![unit(
                    "other/0",
                    &[("private-address", "10.0.0.3"), ("port", "8080")],
                )],
            ),
            rel(
                4,
                "named",
                vec![unit(
                    "named/0",
                    &[
                        ("private-address", "10.0.0.4"),
                        ("port", "8080"),
                        ("service_name", "blog"),
                    ],
                )],
            ),
            rel(
                5,
                "bad",
                vec![unit(
                    "bad/0",
                    &[
                        ("private-address", "10.0.0.5"),
                        ("port", "8080"),
                        ("service_name", "nope"),
                    ],
                )],
            ),
        ],
    );
    assert_eq!(
        server_names(&out, "web1_service", "web1_service"),
        ["web1-0-8080"]
    );
    assert_eq!(
        server_names(&out, "web2_service", "web2_service"),
        ["web2-0-8080"]
    );
    assert_eq!(
        server_names(&out, "blog", "blog"),
        ["web2-0-8080", "named-0-8080"]
    );
    assert_eq!(server_names(&out, "main", "main"), ["other-0-8080"]);
    assert_eq!(
        messages(&out),
        ["bad/0: service_name 'nope' names no service"]
    );
}

#[test]
fn checklist_5_two_apps_pool_into_the_default_service() {
    let out = run(
        DEFAULT_SERVICES,
        vec![
            rel(
                1,
                "web1",
                vec![unit(
                    "web1/0",
                    &[("private-address", "10.0.0.1"), ("port", "8080")],
                )],
            ),
            rel(
                2,
                "web2",
                vec![unit(
                    "web2/0",
                    &[("private-address", "10.0.0.2"), ("port", "8080")],
                )],
            ),
        ],
    );
    assert_eq!(
        server_names(&out, "haproxy_service", "haproxy_service"),
        ["web1-0-8080", "web2-0-8080"]
    );
}

#[test]
fn checklist_5_no_service_to_attach_to() {
    let out = run(
        "",
        vec![rel(
            1,
            "web",
            vec![unit(
                "web/0",
                &[("private-address", "10.0.0.1"), ("port", "80")],
            )],
        )],
    );
    assert_eq!(
        messages(&out),
        ["web/0: service_name matches no service, and there is no default service: no service to attach to"]
    );
    assert!(out.requests.is_empty());
}

#[test]
fn checklist_5_extended_data_adds_numbered_servers() {
    let extra =
        r#"[{"hostname": "10.0.0.9", "port": 8081}, {"private-address": "10.0.0.8"}, {"port": 1}]"#;
    let out = run(
        DEFAULT_SERVICES,
        vec![rel(
            1,
            "kubeapi",
            vec![unit(
                "kubeapi/0",
                &[
                    ("private-address", "10.0.0.1"),
                    ("port", "6443"),
                    ("extended_data", extra),
                ],
            )],
        )],
    );
    let text = described(&out, "haproxy_service");
    assert!(
        text.contains("server kubeapi-0-6443-1 10.0.0.9:8081 maxconn 100 cookie S1 check"),
        "{text}"
    );
    assert!(
        text.contains("server kubeapi-0-6443-2 10.0.0.8:6443 maxconn 100 cookie S2 check"),
        "{text}"
    );
    assert_eq!(
        messages(&out),
        ["kubeapi/0: extended_data[2] has no valid address"]
    );
    let out = run(
        DEFAULT_SERVICES,
        vec![rel(
            1,
            "kubeapi",
            vec![unit(
                "kubeapi/0",
                &[
                    ("private-address", "10.0.0.1"),
                    ("port", "6443"),
                    ("extended_data", "{not json"),
                ],
            )],
        )],
    );
    assert_eq!(
        server_names(&out, "haproxy_service", "haproxy_service"),
        ["kubeapi-0-6443"]
    );
    assert_eq!(out.rejections[0].field, "extended_data");
}

#[test]
fn checklist_6_first_accepted_relation_service_is_default() {
    let services = "- {service_name: bad name}\n- {service_name: first, service_port: 81, servers: [[a, 10.0.0.1, 80]]}\n- {service_name: second, service_port: 82}";
    let out = run(
        "",
        vec![
            rel(1, "svc", vec![unit("svc/0", &[("services", services)])]),
            rel(
                2,
                "web",
                vec![unit(
                    "web/0",
                    &[("private-address", "10.0.0.9"), ("port", "80")],
                )],
            ),
        ],
    );
    assert_eq!(out.default_service.as_deref(), Some("first"));
    assert_eq!(server_names(&out, "first", "first"), ["a", "web-0-80"]);
}

#[test]
fn checklist_7_services_sender_is_never_a_plain_unit() {
    let out = run(
        DEFAULT_SERVICES,
        vec![rel(
            1,
            "web",
            vec![unit(
                "web/0",
                &[
                    ("private-address", "10.0.0.1"),
                    ("port", "80"),
                    ("services", "- {service_name: ["),
                ],
            )],
        )],
    );
    assert!(out.requests.is_empty());
    assert_eq!(out.rejections.len(), 1);
    assert_eq!(out.rejections[0].field, "services");
    assert!(out.rejections[0].reason.starts_with("is not valid YAML"));
    let out = run(
        DEFAULT_SERVICES,
        vec![rel(
            1,
            "web",
            vec![unit(
                "web/0",
                &[
                    ("private-address", "10.0.0.1"),
                    ("port", "80"),
                    ("services", "service_name: x"),
                ],
            )],
        )],
    );
    assert_eq!(
        messages(&out),
        ["web/0: services is not a YAML list of mappings"]
    );
}

#[test]
fn checklist_8_python_repr_and_string_ports() {
    let repr = "[{'service_name': 'x', 'service_port': '8000', 'servers': [['x-0', '10.0.0.1', '80', 'check']]}]";
    let out = run(
        "",
        vec![rel(1, "ops", vec![unit("ops/0", &[("services", repr)])])],
    );
    assert_eq!(described(&out, "x"), "frontend haproxy-lb-0-8000\n    bind 0.0.0.0:8000\n    default_backend x\nbackend x\n    server x-0 10.0.0.1:80 check\n");
}

#[test]
fn checklist_9_bad_document_confined_to_its_unit_bad_entry_to_itself() {
    let good = "- {service_name: ok, service_port: 81, servers: [[a, 10.0.0.1, 80]]}\n- {service_port: 82, servers: [[b, 10.0.0.2, 80]]}";
    let out = run(
        "",
        vec![rel(
            1,
            "a",
            vec![
                unit("a/0", &[("services", "[")]),
                unit("a/1", &[("services", good)]),
            ],
        )],
    );
    assert_eq!(out.requests.len(), 1);
    assert_eq!(messages(&out).len(), 2);
    assert_eq!(out.rejections[1].field, "service_name");
}

#[test]
fn checklist_10_merge_first_wins_union_servers_backends_by_name() {
    let u0 = "- {service_name: m, service_port: 81, service_host: 10.0.0.100, server_options: [check], servers: [[a, 10.0.0.1, 80], [dup, 10.0.0.1, 80]], backends: [{backend_name: m-b, servers: [[x, 10.0.0.1, 90]]}]}";
    let u1 = "- {service_name: m, service_port: 99, servers: [[dup, 10.0.0.1, 80], [b, 10.0.0.2, 80]], backends: [{backend_name: m-b, servers: [[y, 10.0.0.2, 90]]}, {backend_name: m-c, servers: []}]}";
    let out = run(
        "",
        vec![rel(
            1,
            "m",
            vec![
                unit("m/0", &[("services", u0)]),
                unit("m/1", &[("services", u1)]),
            ],
        )],
    );
    let req = &out.requests[0];
    assert_eq!(req.frontends[0].bind.to_string(), "10.0.0.100:81");
    assert_eq!(server_names(&out, "m", "m"), ["a", "dup", "b"]);
    assert_eq!(server_names(&out, "m", "m-b"), ["x", "y"]);
    let backends: Vec<&str> = req.backends.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(backends, ["m", "m-b", "m-c"]);
}

#[test]
fn checklist_11_duplicate_server_names_are_renamed_deterministically() {
    let u0 = "- {service_name: m, service_port: 81, servers: [[s, 10.0.0.1, 80], [s, 10.0.0.2, 80], [s-2, 10.0.0.3, 80], [s, 10.0.0.4, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", u0)])])],
    );
    assert_eq!(server_names(&out, "m", "m"), ["s", "s-2", "s-2-2", "s-3"]);
}

#[test]
fn checklist_12_only_literal_index_placeholder() {
    let u0 = "- {service_name: m, service_port: 81, servers: [[a, 10.0.0.1, 80, 'cookie S{i} check'], [b, 10.0.0.2, 80, 'cookie S{i}']]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", u0)])])],
    );
    let text = described(&out, "m");
    assert!(text.contains("server a 10.0.0.1:80 cookie S0 check\n"));
    assert!(text.contains("server b 10.0.0.2:80 cookie S1\n"));
    let bad = "- {service_name: m, service_port: 81, servers: [[a, 10.0.0.1, 80, 'cookie S{n}']]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", bad)])])],
    );
    assert!(out.requests.is_empty());
    assert_eq!(out.rejections[0].field, "servers[0]");
}

#[test]
fn checklist_13_default_host_and_automatic_ports_by_name() {
    let u0 = "- {service_name: zeta, servers: [[a, 10.0.0.1, 80]]}\n- {service_name: alpha, servers: [[b, 10.0.0.1, 80]]}\n- {service_name: mid, service_port: 8000, servers: [[c, 10.0.0.1, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", u0)])])],
    );
    let binds: Vec<(String, String)> = out
        .requests
        .iter()
        .map(|r| (r.service.clone(), r.frontends[0].bind.to_string()))
        .collect();
    assert_eq!(
        binds,
        [
            ("zeta".to_owned(), "0.0.0.0:8004".to_owned()),
            ("alpha".to_owned(), "0.0.0.0:8002".to_owned()),
            ("mid".to_owned(), "0.0.0.0:8000".to_owned()),
        ]
    );
    let u1 = "- {service_name: only, servers: [[a, 10.0.0.1, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", u1)])])],
    );
    assert_eq!(
        out.requests[0].frontends[0].bind.to_string(),
        "0.0.0.0:10002"
    );
}

#[test]
fn checklist_14_empty_extra_backend_rendered_empty_service_not() {
    let u0 = "- {service_name: m, service_port: 81, servers: [[a, 10.0.0.1, 80]], backends: [{backend_name: m-empty, servers: []}]}\n- {service_name: idle, service_port: 82, backends: [{backend_name: idle-b, servers: []}]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", u0)])])],
    );
    assert_eq!(out.requests.len(), 1);
    assert!(described(&out, "m").contains("backend m-empty\n"));
}

#[test]
fn checklist_15_port_and_backend_clashes_resolved_by_build_in_our_order() {
    use crate::plan::{build, build::PlanInputs, GlobalSettings};
    let config = "- {service_name: web1_service, service_port: 81}\n";
    let u0 = "- {service_name: late, service_port: 81, servers: [[a, 10.0.0.1, 80]]}\n- {service_name: other, service_port: 83, servers: [[a, 10.0.0.1, 80]], backends: [{backend_name: web1_service, servers: []}]}";
    let out = run(
        config,
        vec![
            rel(
                1,
                "web1",
                vec![unit(
                    "web1/0",
                    &[("private-address", "10.0.0.1"), ("port", "80")],
                )],
            ),
            rel(2, "m", vec![unit("m/0", &[("services", u0)])]),
        ],
    );
    let order: Vec<&str> = out.requests.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(order, ["web1_service", "late", "other"]);
    let inputs = PlanInputs {
        global: GlobalSettings::default(),
        userlists: Vec::new(),
        stats: None,
    };
    let (plan, rejections) = build(inputs, out.requests.clone());
    assert_eq!(plan.services.len(), 1);
    let fields: Vec<&str> = rejections.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(fields, ["port", "name"]);
    assert_eq!(rejections[0].service.as_deref(), Some("late"));
}

#[test]
fn checklist_16_forbidden_options_reject_the_service() {
    for (option, field) in [
        ("'acl a path_beg -f /etc/passwd'", "service_options"),
        (
            "'http-request set-header X %[env(SECRET)]'",
            "service_options",
        ),
        ("'default_backend other'", "service_options"),
        ("'use_backend elsewhere if a'", "service_options"),
        ("'rsprep ^Location x'", "service_options"),
    ] {
        let u0 = format!("- {{service_name: m, service_port: 81, service_options: [{option}], servers: [[a, 10.0.0.1, 80]]}}");
        let out = run(
            "",
            vec![rel(1, "m", vec![unit("m/0", &[("services", &u0)])])],
        );
        assert!(out.requests.is_empty(), "{option}");
        assert_eq!(out.rejections[0].field, field);
    }
    let u0 = "- {service_name: m, service_port: 81, service_options: ['# comment', mode http], servers: [[a, 10.0.0.1, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", u0)])])],
    );
    assert_eq!(out.requests.len(), 1);
}

#[test]
fn checklist_17_names_control_characters_and_hosts() {
    for entry in [
        "{service_name: 'a b', service_port: 81, servers: [[a, 10.0.0.1, 80]]}",
        "{service_name: \"a\\tb\", service_port: 81, servers: [[a, 10.0.0.1, 80]]}",
        "{service_name: m, service_port: 81, servers: [[\"a\\nserver x\", 10.0.0.1, 80]]}",
        "{service_name: m, service_port: 81, servers: [[a, None, 80]]}",
        "{service_name: m, service_port: 81, servers: [[a, '', 80]]}",
        "{service_name: m, service_port: 81, servers: [[a, '10.0.0.1 check', 80]]}",
        "{service_name: m, service_host: None, servers: [[a, 10.0.0.1, 80]]}",
    ] {
        let out = run(
            "",
            vec![rel(
                1,
                "m",
                vec![unit("m/0", &[("services", &format!("- {entry}"))])],
            )],
        );
        assert!(out.requests.is_empty(), "{entry}");
        assert_eq!(out.rejections.len(), 1, "{entry}");
    }
}

#[test]
fn checklist_18_bad_errorfile_dropped_service_kept_good_one_written() {
    let good = base64::encode(b"HTTP/1.0 503 Service Unavailable\r\n\r\n");
    let u0 = format!("- {{service_name: m, service_port: 81, servers: [[a, 10.0.0.1, 80]], backends: [{{backend_name: m-b, servers: []}}], errorfiles: [{{http_status: 503, content: '{good}'}}, {{http_status: 503, content: 'nope'}}]}}");
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", &u0)])])],
    );
    assert_eq!(out.requests.len(), 1);
    assert_eq!(out.rejections.len(), 1);
    assert_eq!(out.rejections[0].field, "errorfiles[1]");
    let text = described(&out, "m");
    assert_eq!(
        text.matches("errorfile 503 /var/lib/haproxy-lb/errorfiles/m-503.http")
            .count(),
        2
    );
    assert_eq!(out.files.len(), 1);
    assert_eq!(out.files[0].mode, 0o644);
}

#[test]
fn checklist_19_certificates() {
    let pem = b"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----\n";
    let crt = base64::encode(pem);
    let u0 = format!("- {{service_name: m, service_port: 443, crts: ['{crt}', DEFAULT], servers: [[a, 10.0.0.1, 80]]}}");
    let default = FilePath::new("/var/lib/haproxy-lb/default.pem").unwrap();
    let out = run_with(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", &u0)])])],
        Some(&default),
    );
    assert!(described(&out, "m").starts_with("frontend haproxy-lb-0-443\n    bind 0.0.0.0:443 ssl crt /var/lib/haproxy-lb/certs/m-0.pem ssl crt /var/lib/haproxy-lb/default.pem\n"));
    assert_eq!(out.files.len(), 1);
    assert_eq!(out.files[0].mode, 0o600);
    assert_eq!(out.files[0].contents.expose(), pem);
    // DEFAULT without a configured certificate.
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", &u0)])])],
    );
    assert_eq!(
        messages(&out),
        ["m/0: m: crts DEFAULT but no ssl_cert configured"]
    );
    // EXTERNAL waits for its file; a relation directory path is refused.
    let ext =
        "- {service_name: m, service_port: 443, crts: [EXTERNAL], servers: [[a, 10.0.0.1, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", ext)])])],
    );
    assert!(messages(&out)[0]
        .contains("waiting for the EXTERNAL certificate /var/lib/haproxy-lb/certs/m.pem"));
    let ext =
        "- {service_name: ext, service_port: 443, crts: [EXTERNAL], servers: [[a, 10.0.0.1, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", ext)])])],
    );
    assert!(out.rejections.is_empty());
    let dir = "- {service_name: m, service_port: 443, crts: [/etc/ssl/private], servers: [[a, 10.0.0.1, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", dir)])])],
    );
    assert_eq!(out.rejections[0].field, "crts");
    // Never in a message or Debug output.
    assert!(!format!("{out:?}").contains("PRIVATE KEY"));
}

#[test]
fn checklist_20_placement_frontend_and_backend() {
    let u0 = "- {service_name: m, service_port: 81, service_options: [mode http, option httplog, timeout client 5s, timeout server 5s, maxconn 10, option forwardfor, 'http-request deny if { src 10.0.0.66 }', http-response del-header Server], servers: [[a, 10.0.0.1, 80]]}";
    let out = run(
        "",
        vec![rel(1, "m", vec![unit("m/0", &[("services", u0)])])],
    );
    assert_eq!(
        described(&out, "m"),
        "frontend haproxy-lb-0-81
    bind 0.0.0.0:81
    mode http
    option httplog
    timeout client 5s
    maxconn 10
    http-request deny if { src 10.0.0.66 }
    default_backend m
backend m
    mode http
    option httplog
    timeout server 5s
    option forwardfor
    http-response del-header Server
    server a 10.0.0.1:80
"
    );
}

#[test]
fn checklist_23_same_model_any_relation_or_unit_order() {
    let make = |reverse: bool| {
        let mut units = example_a_units();
        let mut rels = vec![
            rel(1, "web", units.clone()),
            rel(
                2,
                "ls",
                vec![unit(
                    "ls/0",
                    &[
                        ("private-address", "10.0.0.21"),
                        ("services", EXAMPLE_B_LS0),
                    ],
                )],
            ),
        ];
        if reverse {
            units.reverse();
            rels[0].units = units;
            rels.reverse();
        }
        let out = run(DEFAULT_SERVICES, rels);
        let msgs = messages(&out);
        (out.requests, msgs)
    };
    assert_eq!(make(false), make(true));
}

#[test]
fn non_reverseproxy_relations_are_ignored() {
    let mut r = rel(1, "web", example_a_units());
    r.endpoint = "website".to_owned();
    let out = run(DEFAULT_SERVICES, vec![r]);
    assert!(out.requests.is_empty());
}

#[test]
fn config_errors_name_the_option_and_entry() {
    let e = parse_config_services(
        "- {service_name: ok}\n- {service_name: x, service_options: [lua-load a]}",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config option services: entry 1 (x): service_options: 'lua-load a'"),
        "{e}"
    );
    let e = parse_config_services("{").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config option services is not valid YAML"),
        "{e}"
    );
    assert!(parse_config_services("").unwrap().0.is_empty());
    assert!(parse_config_services(DEFAULT_SERVICES).is_ok());
}

#[test]
fn published_services_mirror_requests() {
    let out = run(DEFAULT_SERVICES, vec![rel(1, "web", example_a_units())]);
    let p = &out.published[0];
    assert_eq!(p.name, "haproxy_service");
    assert_eq!(p.servers[1].options, ["maxconn 100", "cookie S1", "check"]);
    assert_eq!(p.server_options, ["maxconn 100", "cookie S{i}", "check"]);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bags_never_panic_or_leak(
        services in proptest::option::of("[ -~\\n]{0,120}"),
        all in proptest::option::of("[ -~\\n]{0,80}"),
        port in proptest::option::of("[0-9a-z]{0,6}"),
        addr in proptest::option::of("[0-9a-z.:]{0,16}"),
        extended in proptest::option::of("[ -~]{0,60}"),
        name in proptest::option::of("[a-z_ ]{0,12}"),
    ) {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (k, v) in [("services", &services), ("all_services", &all), ("port", &port), ("private-address", &addr), ("extended_data", &extended), ("service_name", &name)] {
            if let Some(v) = v { pairs.push((k, v)); }
        }
        let out = run(DEFAULT_SERVICES, vec![rel(1, "p", vec![unit("p/0", &pairs)])]);
        for r in &out.requests {
            let text = describe(r);
            proptest::prop_assert!(!text.contains(['"', '\'', '\\', '$', '#']), "{}", text);
        }
    }
}

#[test]
fn checklist_1_remote_app_bags_are_never_read() {
    let mut r = rel(1, "web", Vec::new());
    r.remote_app_bag = Bag::from([
        (
            "services".to_owned(),
            "- {service_name: x, service_port: 81, servers: [[a, 10.0.0.1, 80]]}".to_owned(),
        ),
        ("port".to_owned(), "80".to_owned()),
        ("private-address".to_owned(), "10.0.0.1".to_owned()),
    ]);
    let out = run(DEFAULT_SERVICES, vec![r]);
    assert!(out.requests.is_empty());
    assert!(out.rejections.is_empty());
}

#[test]
fn charm_config_default_is_the_classic_default() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml")).unwrap();
    let config: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let default = config["options"]["services"]["default"].as_str().unwrap();
    assert_eq!(
        parse_config_services(default).unwrap().0,
        parse_config_services(DEFAULT_SERVICES).unwrap().0
    );
}

#[test]
fn departed_units_and_broken_relations_contribute_nothing() {
    // The caller leaves them out of the snapshot; what remains is served unchanged.
    let mut units = example_a_units();
    units.remove(0);
    let out = run(DEFAULT_SERVICES, vec![rel(1, "web", units)]);
    assert_eq!(
        server_names(&out, "haproxy_service", "haproxy_service"),
        ["web-1-8080"]
    );
    assert!(described(&out, "haproxy_service")
        .contains("server web-1-8080 10.0.0.12:8080 maxconn 100 cookie S0 check"));
    let out = run(DEFAULT_SERVICES, Vec::new());
    assert!(out.requests.is_empty());
}

proptest::proptest! {
    #[test]
    fn arbitrary_bags_through_build_and_website_never_panic(
        services in proptest::option::of("[ -~\\n]{0,120}"),
        port in proptest::option::of("[0-9]{0,6}"),
        service_name in proptest::option::of("[a-z_]{0,16}"),
    ) {
        use crate::plan::{build, build::PlanInputs, GlobalSettings};
        let mut pairs: Vec<(&str, &str)> = vec![("private-address", "10.0.0.1")];
        for (k, v) in [("services", &services), ("port", &port)] {
            if let Some(v) = v { pairs.push((k, v)); }
        }
        let out = run(DEFAULT_SERVICES, vec![rel(1, "p", vec![unit("p/0", &pairs)])]);
        let inputs = PlanInputs {
            global: GlobalSettings::default(),
            userlists: Vec::new(),
            stats: None,
        };
        let (plan, _) = build(inputs, out.requests.clone());
        let mut consumer = rel(9, "c", vec![unit("c/0", &service_name.iter().map(|n| ("service_name", n.as_str())).collect::<Vec<_>>())]);
        consumer.endpoint = "website".to_owned();
        let bag = crate::interfaces::http::website::website_bag(&plan, &out, &consumer);
        proptest::prop_assert!(bag.contains_key("hostname"));
        if let Some(all) = bag.get("all_services") {
            let items: Vec<serde_yaml::Value> = serde_yaml::from_str(all).unwrap();
            for item in items {
                proptest::prop_assert!(item.get("crts").is_none() && item.get("errorfiles").is_none());
            }
        }
    }
}

#[test]
fn ipv6_units_and_binds_are_bracketed() {
    let config =
        "- {service_name: v6, service_host: '::', service_port: 8443, server_options: check}\n";
    let out = run(
        config,
        vec![rel(
            1,
            "web",
            vec![unit(
                "web/0",
                &[("private-address", "fd00::11"), ("port", "8080")],
            )],
        )],
    );
    assert_eq!(
        described(&out, "v6"),
        "frontend haproxy-lb-0-8443\n    bind [::]:8443\n    default_backend v6\nbackend v6\n    server web-0-8080 [fd00::11]:8080 check\n"
    );
}

#[test]
fn wildcard_bind_host_listens_everywhere() {
    let config = "- {service_name: any, service_host: '*', service_port: 81}\n";
    let out = run(
        config,
        vec![rel(
            1,
            "web",
            vec![unit(
                "web/0",
                &[("private-address", "10.0.0.1"), ("port", "80")],
            )],
        )],
    );
    assert_eq!(out.requests[0].frontends[0].bind.to_string(), ":81");
    assert_eq!(out.published[0].host, BindHost::Any);
}
