//! `spec/http.md` §8 examples A-D through the whole pure pipeline: relation snapshots →
//! `interfaces::http::reverseproxy::parse` → `plan::build` → `render`. Each section the spec
//! shows must contain the spec's lines in the spec's order (the renderer may add its own
//! defaults such as `option forwardfor`), and the whole config must pass `haproxy -c`.
//! Addresses are the spec's 10.0.0.x text: `haproxy -c` runs in an empty network namespace and
//! sends nothing.

mod util;

use haproxy_lb::haproxy::Paths;
use haproxy_lb::interfaces::http::reverseproxy::{self, parse_config_services, Inputs, Outcome};
use haproxy_lb::interfaces::{Bag, RelationSnapshot, RemoteUnit};
use haproxy_lb::plan::build::PlanInputs;
use haproxy_lb::plan::{build, FilePath, GlobalSettings, Rejection};
use haproxy_lb::render::render;

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
        endpoint: "reverseproxy".to_owned(),
        remote_app: app.to_owned(),
        remote_app_bag: Bag::new(),
        units,
        local_unit_bag: Bag::new(),
        local_app_bag: None,
        ingress_address: "10.0.0.2".to_owned(),
    }
}

/// Run the pipeline; the rendered config, and every rejection message (ours, then build's).
fn pipeline(config: &str, relations: Vec<RelationSnapshot>) -> (String, Vec<String>, Outcome) {
    let (config_services, _) = parse_config_services(config).unwrap();
    let paths = reverseproxy::Paths {
        cert_dir: FilePath::new("/var/lib/haproxy-lb/certs").unwrap(),
        errorfile_dir: FilePath::new("/var/lib/haproxy-lb/errorfiles").unwrap(),
    };
    let out = reverseproxy::parse(&Inputs {
        our_unit: "haproxy-lb/0",
        config_services: &config_services,
        monitoring_port: 10000,
        relations: &relations,
        paths: &paths,
        default_cert: None,
        file_exists: &|_| false,
    });
    let inputs = PlanInputs {
        global: GlobalSettings::default(),
        userlists: Vec::new(),
        stats: None,
    };
    let (plan, built_rejections) = build(inputs, out.requests.clone());
    let text = render(&plan, &Paths::debian().runtime_files().unwrap()).unwrap();
    let messages = out
        .rejections
        .iter()
        .chain(built_rejections.iter())
        .map(Rejection::to_string)
        .collect();
    (text, messages, out)
}

/// The lines of one section (`frontend x`, `backend y`), trimmed, header first.
fn section<'a>(text: &'a str, header: &'a str) -> Vec<&'a str> {
    let mut lines = text.lines();
    let Some(_) = lines.by_ref().find(|l| *l == header) else {
        panic!("no section {header:?} in:\n{text}");
    };
    let mut out = vec![header];
    out.extend(
        lines
            .take_while(|l| l.starts_with(' '))
            .map(str::trim)
            .filter(|l| !l.is_empty()),
    );
    out
}

/// Every expected line appears in the section, in this order.
fn assert_section(text: &str, expected: &str) {
    let mut expected_lines = expected.lines().map(str::trim);
    let header = expected_lines.next().unwrap();
    let actual = section(text, header);
    let mut rest = actual.iter().skip(1);
    for line in expected_lines {
        assert!(
            rest.any(|a| *a == line),
            "{header}: missing or out of order: {line:?}\n--- section ---\n{}",
            actual.join("\n")
        );
    }
}

fn assert_haproxy_accepts(text: &str) {
    util::haproxy_check(text).unwrap_or_else(|e| panic!("haproxy -c refused:\n{e}\n{text}"));
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

const EXAMPLE_A: &str = "frontend haproxy-lb-0-80
    bind 0.0.0.0:80
    default_backend haproxy_service
backend haproxy_service
    balance leastconn
    cookie SRVNAME insert
    server web-0-8080 10.0.0.11:8080 maxconn 100 cookie S0 check
    server web-1-8080 10.0.0.12:8080 maxconn 100 cookie S1 check";

fn assert_example_a(text: &str) {
    let (frontend, backend) = EXAMPLE_A.split_at(EXAMPLE_A.find("\nbackend ").unwrap());
    assert_section(text, frontend);
    assert_section(text, backend.trim_start());
}

#[test]
fn example_a_renders_as_the_spec_shows() {
    let (text, messages, _) = pipeline(DEFAULT_SERVICES, vec![rel(1, "web", example_a_units())]);
    assert_eq!(messages, Vec::<String>::new());
    assert_example_a(&text);
    assert_haproxy_accepts(&text);
}

fn landscape(n: u8, api_servers: &str) -> String {
    format!(
        "- service_name: landscape-http
  service_port: 80
  service_options: [mode http, acl api path_beg -i /api, use_backend landscape-http-api if api]
  servers: [[landscape-appserver-ls-{n}, 10.0.0.2{}, 8080, [check, inter 5000]]]
  backends: [{{backend_name: landscape-http-api, servers: {api_servers}}}]
",
        n + 1
    )
}

#[test]
fn example_b_renders_one_frontend_two_backends() {
    let ls0 = landscape(0, "[[landscape-api-ls-0, 10.0.0.21, 9080, [check]]]");
    let ls1 = landscape(1, "[]");
    let (text, messages, _) = pipeline(
        "",
        vec![rel(
            2,
            "ls",
            vec![
                unit(
                    "ls/0",
                    &[("private-address", "10.0.0.21"), ("services", &ls0)],
                ),
                unit(
                    "ls/1",
                    &[("private-address", "10.0.0.22"), ("services", &ls1)],
                ),
            ],
        )],
    );
    assert_eq!(messages, Vec::<String>::new());
    assert_section(
        &text,
        "frontend haproxy-lb-0-80
        bind 0.0.0.0:80
        mode http
        acl api path_beg -i /api
        use_backend landscape-http-api if api
        default_backend landscape-http",
    );
    assert_section(
        &text,
        "backend landscape-http
        mode http
        server landscape-appserver-ls-0 10.0.0.21:8080 check inter 5000
        server landscape-appserver-ls-1 10.0.0.22:8080 check inter 5000",
    );
    assert_section(
        &text,
        "backend landscape-http-api
        mode http
        server landscape-api-ls-0 10.0.0.21:9080 check",
    );
    assert_eq!(text.matches("\nfrontend ").count(), 1);
    assert_haproxy_accepts(&text);
}

#[test]
fn example_c_upstream_proxy_and_default_service() {
    let all = "[{service_name: app, service_port: 81, service_options: [mode http], servers: [[app-1-8080, 10.0.1.9, 8080, check]]}]";
    let (text, messages, _) = pipeline(
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
    assert_eq!(messages, Vec::<String>::new());
    assert_section(
        &text,
        "frontend haproxy-lb-0-81
        bind 0.0.0.0:81
        mode http
        default_backend app",
    );
    assert_section(
        &text,
        "backend app\n        mode http\n        server lb-0-81 10.0.0.5:81 check",
    );
    assert_section(
        &text,
        "backend haproxy_service\n        server lb-0-80 10.0.0.5:80 maxconn 100 cookie S0 check",
    );
    assert!(
        !text.contains("10.0.1.9"),
        "upstream's own servers must not be used"
    );
    assert_haproxy_accepts(&text);
}

#[test]
fn example_d_bad_input_leaves_the_rest_served() {
    let lua = "- {service_name: evil, service_port: 90, service_options: [lua-load x.lua], servers: [[e, 10.0.0.40, 80]]}
- {service_name: fine, service_port: 91, servers: [[f, 10.0.0.41, 80]]}";
    let s0 = "- {service_name: api, service_port: 92, service_options: [balance roundrobin], servers: [[s-0, 10.0.0.50, 80]]}";
    let s1 = "- {service_name: api, service_port: 92, service_options: [balance source], servers: [[s-1, 10.0.0.51, 80]]}";
    let mut units = example_a_units();
    units.push(unit(
        "web/2",
        &[("private-address", "10.0.0.13"), ("port", "http")],
    ));
    let (text, messages, _) = pipeline(
        DEFAULT_SERVICES,
        vec![
            rel(1, "web", units),
            rel(4, "x", vec![unit("x/0", &[("services", lua)])]),
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
    assert_eq!(
        messages,
        [
            "x/0: evil: service_options 'lua-load x.lua' is not an allow-listed HAProxy directive (http.md §5)",
            "web/2: port 'http' is not a number 1-65535",
        ]
    );
    assert_example_a(&text);
    assert!(!text.contains("lua") && !text.contains("evil"));
    assert_section(&text, "backend fine\n        server f 10.0.0.41:80");
    assert_section(
        &text,
        "backend api
        balance roundrobin
        server s-0 10.0.0.50:80
        server s-1 10.0.0.51:80",
    );
    assert!(!text.contains("balance source"));
    assert_haproxy_accepts(&text);
}

#[test]
fn port_clash_rejects_the_later_service_and_the_config_stays_valid() {
    let late = "- {service_name: late, service_port: 80, servers: [[l, 10.0.0.60, 80]]}";
    let (text, messages, _) = pipeline(
        DEFAULT_SERVICES,
        vec![
            rel(1, "web", example_a_units()),
            rel(2, "late", vec![unit("late/0", &[("services", late)])]),
        ],
    );
    assert_eq!(
        messages,
        ["late/0: late: port 80 is already used by service haproxy_service (config services)"]
    );
    assert_example_a(&text);
    assert!(!text.contains("backend late"));
    assert_haproxy_accepts(&text);
}
