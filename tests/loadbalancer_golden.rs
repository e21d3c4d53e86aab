//! Byte compatibility of the `loadbalancer` interface with the real Python library.
//!
//! Our Rust code serialises responses and parses requests; `tests/loadbalancer_golden.py`,
//! run from `.venv-lb` (made by `make venv-lb`, which this test runs itself), has the
//! library do the same and compares (`spec/loadbalancer.md` §2.2, §3).

use haproxy_lb::interfaces::loadbalancer::request::WireRequest;
use haproxy_lb::interfaces::loadbalancer::response::{
    Address, ErrorAnswer, FieldErrors, Message, RequestField, Response,
};
use haproxy_lb::interfaces::loadbalancer::{parse, responses, LbSettings, ENDPOINT};
use haproxy_lb::interfaces::{Bag, RelationSnapshot, RemoteUnit};
use haproxy_lb::plan::build::PlanInputs;
use haproxy_lb::plan::{FilePath, GlobalSettings, Hostname};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Make (or reuse) the pinned venv; fail loudly when it cannot be made.
fn venv_python() -> PathBuf {
    let out = Command::new("make")
        .args(["-s", "venv-lb"])
        .current_dir(root())
        .output()
        .expect("make must be installed");
    assert!(
        out.status.success(),
        "make venv-lb failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let python = root().join(".venv-lb/bin/python3");
    assert!(
        python.exists(),
        "{} missing after make venv-lb",
        python.display()
    );
    python
}

/// Run the golden script on `cases`; panic with its output unless every case passed.
fn run_golden(mode: &str, cases: &[Value]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{mode}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(cases).unwrap()).unwrap();
    let out = Command::new(venv_python())
        .arg(root().join("tests/loadbalancer_golden.py"))
        .arg(mode)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!("{} passed, 0 failed", cases.len());
    assert!(
        out.status.success() && stdout.contains(&want),
        "golden {mode} failed (want {want:?}):\n{stdout}\n{stderr}"
    );
    println!("golden {mode}: {}", stdout.trim_end());
}

fn field_errors(pairs: &[(RequestField, &str)]) -> ErrorAnswer {
    ErrorAnswer::Unsupported(
        FieldErrors::new(
            pairs
                .iter()
                .map(|(f, r)| (*f, (*r).to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
        .unwrap(),
    )
}

fn response_case(label: &str, name: &str, response: &Response) -> Value {
    let (address, error, fields, message) = match &response.outcome {
        Ok(a) => (Some(a.as_str().to_owned()), None, BTreeMap::new(), None),
        Err(ErrorAnswer::Unsupported(f)) => (
            None,
            Some("unsupported"),
            f.iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_owned()))
                .collect(),
            None,
        ),
        Err(ErrorAnswer::ProviderError(m)) => (
            None,
            Some("provider_error"),
            BTreeMap::new(),
            Some(m.as_str().to_owned()),
        ),
    };
    json!({
        "label": label, "name": name, "address": address, "error": error,
        "error_fields": fields, "error_message": message,
        "received_hash": response.received_hash, "wire": response.to_wire(),
    })
}

#[test]
fn our_responses_are_byte_identical_to_the_library_and_parse_there() {
    let hash = Some("8bac4854bc03e3640a2041dfaf77a112".to_string());
    let hostile = "quote \" backslash \\ newline \n tab \t café 😀 \u{1} \u{7f} / end";
    let all_fields: Vec<(RequestField, &str)> = vec![
        (RequestField::Algorithm, "a"),
        (RequestField::Backends, "b"),
        (
            RequestField::HealthChecks,
            "check 0: udp health checks are not supported",
        ),
        (RequestField::Id, "i"),
        (
            RequestField::IngressAddress,
            "'192.0.2.9' is not an address of this load balancer",
        ),
        (RequestField::Name, "n"),
        (RequestField::PortMapping, "port 70000 is outside 1-65535"),
        (RequestField::Protocol, "udp is not supported"),
        (RequestField::Public, "p"),
        (RequestField::SentHash, "s"),
        (RequestField::Sticky, "st"),
        (RequestField::TlsCert, "no PEM CERTIFICATE block found"),
        (
            RequestField::TlsKey,
            "the private key does not match the first certificate in tls_cert",
        ),
        (RequestField::TlsTermination, "not supported"),
    ];
    let cases: Vec<(&str, &str, Response)> = vec![
        (
            "success ipv4",
            "api-server-external",
            Response {
                outcome: Ok(Address::from_ip("203.0.113.10".parse().unwrap())),
                received_hash: hash.clone(),
            },
        ),
        (
            "success ipv6",
            "web",
            Response {
                outcome: Ok(Address::from_ip("fd00::5".parse().unwrap())),
                received_hash: hash.clone(),
            },
        ),
        (
            "success hostname",
            "web",
            Response {
                outcome: Ok(Address::from_hostname(
                    &Hostname::checked("lb.example.com").unwrap(),
                )),
                received_hash: None,
            },
        ),
        (
            "success without sent_hash",
            "x",
            Response {
                outcome: Ok(Address::from_ip("127.0.4.1".parse().unwrap())),
                received_hash: None,
            },
        ),
        (
            "unsupported udp",
            "dns",
            Response {
                outcome: Err(field_errors(&[
                    (RequestField::Protocol, "udp is not supported"),
                    (RequestField::TlsTermination, "not supported"),
                ])),
                received_hash: hash.clone(),
            },
        ),
        (
            "unsupported every field",
            "all",
            Response {
                outcome: Err(field_errors(&all_fields)),
                received_hash: hash.clone(),
            },
        ),
        (
            "unsupported hostile reason",
            "h",
            Response {
                outcome: Err(field_errors(&[(RequestField::Backends, hostile)])),
                received_hash: hash.clone(),
            },
        ),
        (
            "provider_error port",
            "api",
            Response {
                outcome: Err(ErrorAnswer::ProviderError(
                    Message::new("frontend port 443 is already in use").unwrap(),
                )),
                received_hash: hash.clone(),
            },
        ),
        (
            "provider_error hostile",
            "api",
            Response {
                outcome: Err(ErrorAnswer::ProviderError(Message::new(hostile).unwrap())),
                received_hash: Some(hostile.into()),
            },
        ),
        (
            "provider_error null hash",
            "api",
            Response {
                outcome: Err(ErrorAnswer::ProviderError(
                    Message::new("config vip 'x' is not an IP address").unwrap(),
                )),
                received_hash: None,
            },
        ),
    ];
    let values: Vec<Value> = cases
        .iter()
        .map(|(label, name, r)| response_case(label, name, r))
        .collect();
    run_golden("responses", &values);
}

fn snapshot(
    id: u64,
    app: &str,
    requests: &[(&str, &str)],
    units: &[(&str, &str)],
) -> RelationSnapshot {
    let mut bag = Bag::from([("version".to_string(), "1".to_string())]);
    for (k, v) in requests {
        bag.insert((*k).into(), (*v).into());
    }
    RelationSnapshot {
        id,
        endpoint: ENDPOINT.into(),
        remote_app: app.into(),
        remote_app_bag: bag,
        units: units
            .iter()
            .map(|(n, a)| RemoteUnit {
                name: (*n).into(),
                bag: Bag::from([("ingress-address".to_string(), (*a).to_string())]),
            })
            .collect(),
        local_unit_bag: Bag::new(),
        local_app_bag: Some(Bag::new()),
        ingress_address: "127.0.4.1".into(),
    }
}

/// The whole pipeline (parse -> plan::build -> responses) for spec §6 (a) and (c); every value
/// written must be what the library itself writes for the content it carries.
#[test]
fn pipeline_bags_for_the_spec_examples_are_library_bytes() {
    const A: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "5f0c2a9e4b7d4c3a9e1f2b6d8a0c4e71", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "8bac4854bc03e3640a2041dfaf77a112", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
    const API: &str = r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "c0ffee00c0ffee00c0ffee00c0ffee00", "ingress_address": null, "name": "api", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "274aa963d06b910256c6adb5929096e9", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
    const DNS: &str = r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "1e2d3c4b5a6978877665544332211000", "ingress_address": null, "name": "dns", "port_mapping": {"53": 5353}, "protocol": "udp", "public": true, "sent_hash": "bd1b3ffc6a0db028b2b7085d6248cf67", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": true}"#;
    const METRICS: &str = r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "aa55aa55aa55aa55aa55aa55aa55aa55", "ingress_address": null, "name": "metrics", "port_mapping": {"9100": 70000}, "protocol": "tcp", "public": true, "sent_hash": "79264cbebf10ef07d5215ceb6011e426", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
    let snaps = [
        snapshot(
            3,
            "kubernetes-control-plane",
            &[("request_api-server-external", A)],
            &[("kubernetes-control-plane/0", "127.0.4.11")],
        ),
        snapshot(
            5,
            "edge",
            &[
                ("request_api", API),
                ("request_dns", DNS),
                ("request_metrics", METRICS),
            ],
            &[("edge/0", "127.0.4.12")],
        ),
    ];
    let settings = LbSettings {
        public_address: Some("203.0.113.10".into()),
        vip: String::new(),
        external_hostname: String::new(),
        cert_dir: FilePath::new("/tmp/lb-certs").unwrap(),
    };
    let parsed = parse(&snaps, &settings);
    let inputs = PlanInputs {
        global: GlobalSettings::default(),
        userlists: vec![],
        stats: None,
    };
    let (plan, rejections) = haproxy_lb::plan::build(inputs, parsed.requests.clone());
    let answers = responses(&parsed.state, &plan, &rejections);
    let mut cases = Vec::new();
    for answer in &answers {
        for (key, wire) in &answer.desired {
            let Some(name) = key.strip_prefix("response_") else {
                continue;
            };
            let v: Value = serde_json::from_str(wire).unwrap();
            cases.push(json!({
                "label": format!("{} {key}", answer.key), "name": name,
                "address": v["address"], "error": v["error"], "error_fields": v["error_fields"],
                "error_message": v["error_message"], "received_hash": v["received_hash"], "wire": wire,
            }));
        }
    }
    assert_eq!(cases.len(), 4, "a, api, dns, metrics");
    run_golden("responses", &cases);
}

fn ours(text: &str) -> Value {
    let Ok(r) = WireRequest::parse(text) else {
        return Value::Null;
    };
    let int = |v: i128| json!(i64::try_from(v).expect("test values fit i64"));
    json!({
        "id": r.id, "name": r.name, "protocol": r.protocol.to_string(),
        "port_mapping": r.port_mapping.iter().map(|(f, b)| json!([int(*f), int(*b)])).collect::<Vec<_>>(),
        "backends": r.backends, "algorithm": r.algorithm, "sticky": r.sticky,
        "health_checks": r.health_checks.iter().map(|h| json!({
            "protocol": h.protocol.to_string(), "port": int(h.port), "path": h.path,
            "interval": int(h.interval), "retries": int(h.retries)})).collect::<Vec<_>>(),
        "public": r.public, "tls_termination": r.tls_termination, "tls_cert": r.tls_cert,
        "tls_key": r.tls_key, "ingress_address": r.ingress_address, "sent_hash": r.sent_hash,
    })
}

/// Differential test: every request string is accepted or skipped exactly as the library's
/// schema does, with the same normalised values (§2.1).
#[test]
fn requests_are_read_exactly_as_the_library_reads_them() {
    let base = |extra: &str| {
        format!(
            r#"{{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {{"80": 8080}}{extra}}}"#
        )
    };
    let mut texts: Vec<(String, bool)> = vec![
        // Spec §6 examples, with their hashes checked by the library too.
        (r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "5f0c2a9e4b7d4c3a9e1f2b6d8a0c4e71", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "8bac4854bc03e3640a2041dfaf77a112", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#.into(), true),
        (r#"{"algorithm": ["leastconn", "roundrobin"], "backends": [], "health_checks": [{"interval": 10, "path": "/healthz", "port": 8080, "protocol": "http", "retries": 2}], "id": "9c4f6a0b1d2e4f5a8b7c6d5e4f3a2b1c", "ingress_address": null, "name": "web", "port_mapping": {"80": 8080}, "protocol": "http", "public": false, "sent_hash": "a384ee7974ed630fadd71dada90d047a", "sticky": true, "tls_cert": null, "tls_key": null, "tls_termination": false}"#.into(), true),
        (r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "00112233445566778899aabbccddeeff", "ingress_address": null, "name": "multi", "port_mapping": {"80": 8080, "443": 6443, "8443": 443}, "protocol": "tcp", "public": true, "sent_hash": "0626ff2909ac7a3c921419dd3ca21921", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#.into(), true),
        (r#"{"id": "b0", "name": "bad", "protocol": "TCP", "port_mapping": {"80": 80}}"#.into(), false),
        (base(""), false),
        ("not json".into(), false),
        ("[1, 2]".into(), false),
        ("\"text\"".into(), false),
        (r#"{"id": "", "name": "", "protocol": "udp", "port_mapping": {}}"#.into(), false),
        (r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"abc": 80}}"#.into(), false),
        (r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {" 443 ": 80, "0443": 81, "+1_0": 82}}"#.into(), false),
        (r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {"-5": 70000}}"#.into(), false),
        (r#"{"id": 5, "name": "n", "protocol": "tcp", "port_mapping": {}}"#.into(), false),
        (r#"{"name": "n", "protocol": "tcp", "port_mapping": {}}"#.into(), false),
        (r#"{"id": "i", "name": "n", "protocol": "tcp"}"#.into(), false),
        (r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": null}"#.into(), false),
        (r#"{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": [80]}"#.into(), false),
    ];
    for value in [
        r#""6443""#,
        "6443.0",
        "6443.5",
        r#"" 6443 ""#,
        r#""6_443""#,
        r#""6__443""#,
        r#""6443.0""#,
        "null",
        "true",
        "false",
        r#""""#,
        r#""-1""#,
        "-1",
        "1e3",
        r#""1e3""#,
        "[1]",
        "{}",
    ] {
        texts.push((format!(r#"{{"id": "i", "name": "n", "protocol": "tcp", "port_mapping": {{"80": {value}}}}}"#), false));
    }
    for value in [
        "true",
        "false",
        r#""yes""#,
        r#""no""#,
        r#""false""#,
        r#""TRUE""#,
        r#""True""#,
        r#""tRuE""#,
        "0",
        "1",
        "2",
        "1.0",
        "0.0",
        "0.5",
        r#""1""#,
        r#""0""#,
        r#""on""#,
        r#""OFF""#,
        r#""y""#,
        r#""""#,
        "null",
        "[]",
    ] {
        for field in ["sticky", "public", "tls_termination"] {
            texts.push((base(&format!(r#", "{field}": {value}"#)), false));
        }
    }
    for extra in [
        r#", "backends": ["10.0.0.1", "fd00::5"]"#,
        r#", "backends": []"#,
        r#", "backends": null"#,
        r#", "backends": [1]"#,
        r#", "backends": "x""#,
        r#", "backends": [null]"#,
        r#", "algorithm": ["ROUND_ROBIN", "x"]"#,
        r#", "algorithm": [true]"#,
        r#", "tls_cert": null, "tls_key": null"#,
        r#", "tls_cert": "c", "tls_key": "k""#,
        r#", "tls_cert": 1"#,
        r#", "ingress_address": "10.0.0.9""#,
        r#", "ingress_address": 5"#,
        r#", "sent_hash": null"#,
        r#", "sent_hash": "abc""#,
        r#", "sent_hash": 5"#,
        r#", "extra": 1"#,
        r#", "version": 1"#,
        r#", "health_checks": [{"protocol": "http", "port": 1}]"#,
        r#", "health_checks": [{"protocol": "udp", "port": "2", "path": "/x", "interval": 1.5, "retries": "4"}]"#,
        r#", "health_checks": [{"protocol": "HTTP", "port": 1}]"#,
        r#", "health_checks": [{"protocol": "http"}]"#,
        r#", "health_checks": [{"protocol": "http", "port": 1, "timeout": 5}]"#,
        r#", "health_checks": [{"protocol": "http", "port": 1, "path": null, "interval": null}]"#,
        r#", "health_checks": [{"protocol": "http", "port": 1, "path": 5}]"#,
        r#", "health_checks": ["x"]"#,
        r#", "health_checks": {}"#,
        r#", "health_checks": null"#,
        r#", "sticky": true, "sticky": false"#,
        r#", "name": "café 😀 \"q\" \n""#,
    ] {
        texts.push((base(extra), false));
    }
    let cases: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(n, (text, check_hash))| json!({"label": format!("request {n}: {text}"), "text": text, "ours": ours(text), "check_hash": check_hash}))
        .collect();
    assert!(
        cases.iter().any(|c| c["ours"].is_null()) && cases.iter().any(|c| !c["ours"].is_null())
    );
    run_golden("requests", &cases);
}

#[test]
fn golden_script_exists() {
    assert!(Path::new(&root().join("tests/loadbalancer_golden.py")).exists());
}
