//! Whole-interface tests: snapshots in, plan requests and our app bag out, against the worked
//! examples of `spec/loadbalancer.md` §6 byte for byte.

use super::*;
use crate::interfaces::RemoteUnit;
use crate::plan::build::PlanInputs;
use crate::plan::{FilePath, GlobalSettings};

fn settings(public: &str) -> LbSettings {
    LbSettings {
        public_address: Some(public.into()),
        vip: String::new(),
        external_hostname: String::new(),
        cert_dir: FilePath::new("/var/lib/haproxy-lb/lb-certs").unwrap(),
    }
}

fn inputs() -> PlanInputs {
    PlanInputs {
        global: GlobalSettings::default(),
        userlists: Vec::new(),
        stats: None,
    }
}

fn units(list: &[(&str, &str)]) -> Vec<RemoteUnit> {
    let mut out: Vec<RemoteUnit> = list
        .iter()
        .map(|(name, address)| RemoteUnit {
            name: (*name).into(),
            bag: Bag::from([
                ("ingress-address".to_string(), (*address).to_string()),
                ("private-address".to_string(), (*address).to_string()),
            ]),
        })
        .collect();
    crate::interfaces::sort_units(&mut out);
    out
}

fn snapshot(
    id: u64,
    app: &str,
    app_bag: &[(&str, &str)],
    units: Vec<RemoteUnit>,
    local: Option<&[(&str, &str)]>,
    ingress: &str,
) -> RelationSnapshot {
    RelationSnapshot {
        id,
        endpoint: ENDPOINT.into(),
        remote_app: app.into(),
        remote_app_bag: app_bag
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        units,
        local_unit_bag: Bag::new(),
        local_app_bag: local.map(|l| {
            l.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        }),
        ingress_address: ingress.into(),
    }
}

/// parse -> build -> responses, as the hook does.
fn run(snapshots: &[RelationSnapshot], s: &LbSettings) -> (Parsed, Vec<RelationAnswer>) {
    let parsed = parse(snapshots, s);
    let (plan, rejections) = crate::plan::build(inputs(), parsed.requests.clone());
    let answers = responses(&parsed.state, &plan, &rejections);
    (parsed, answers)
}

const REQ_A: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "5f0c2a9e4b7d4c3a9e1f2b6d8a0c4e71", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "8bac4854bc03e3640a2041dfaf77a112", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
const RESP_A: &str = r#"{"address": "203.0.113.10", "error": null, "error_fields": {}, "error_message": null, "received_hash": "8bac4854bc03e3640a2041dfaf77a112"}"#;

const REQ_B: &str = r#"{"algorithm": ["leastconn", "roundrobin"], "backends": [], "health_checks": [{"interval": 10, "path": "/healthz", "port": 8080, "protocol": "http", "retries": 2}], "id": "9c4f6a0b1d2e4f5a8b7c6d5e4f3a2b1c", "ingress_address": null, "name": "web", "port_mapping": {"80": 8080}, "protocol": "http", "public": false, "sent_hash": "a384ee7974ed630fadd71dada90d047a", "sticky": true, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
const RESP_B: &str = r#"{"address": "10.20.0.100", "error": null, "error_fields": {}, "error_message": null, "received_hash": "a384ee7974ed630fadd71dada90d047a"}"#;

const REQ_C_API: &str = r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "c0ffee00c0ffee00c0ffee00c0ffee00", "ingress_address": null, "name": "api", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "274aa963d06b910256c6adb5929096e9", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
const REQ_C_DNS: &str = r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "1e2d3c4b5a6978877665544332211000", "ingress_address": null, "name": "dns", "port_mapping": {"53": 5353}, "protocol": "udp", "public": true, "sent_hash": "bd1b3ffc6a0db028b2b7085d6248cf67", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": true}"#;
const REQ_C_METRICS: &str = r#"{"algorithm": [], "backends": [], "health_checks": [], "id": "aa55aa55aa55aa55aa55aa55aa55aa55", "ingress_address": null, "name": "metrics", "port_mapping": {"9100": 70000}, "protocol": "tcp", "public": true, "sent_hash": "79264cbebf10ef07d5215ceb6011e426", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
const REQ_C_BAD: &str =
    r#"{"id": "b0", "name": "bad", "protocol": "TCP", "port_mapping": {"80": 80}}"#;
const RESP_C_API: &str = r#"{"address": null, "error": "provider_error", "error_fields": {}, "error_message": "frontend port 443 is already in use", "received_hash": "274aa963d06b910256c6adb5929096e9"}"#;
const RESP_C_DNS: &str = r#"{"address": null, "error": "unsupported", "error_fields": {"protocol": "udp is not supported", "tls_termination": "not supported"}, "error_message": null, "received_hash": "bd1b3ffc6a0db028b2b7085d6248cf67"}"#;
const RESP_C_METRICS: &str = r#"{"address": null, "error": "unsupported", "error_fields": {"port_mapping": "port 70000 is outside 1-65535"}, "error_message": null, "received_hash": "79264cbebf10ef07d5215ceb6011e426"}"#;

fn bag(pairs: &[(&str, &str)]) -> Bag {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn kcp_units() -> Vec<RemoteUnit> {
    units(&[
        ("kubernetes-control-plane/0", "10.10.0.11"),
        ("kubernetes-control-plane/1", "10.10.0.12"),
        ("kubernetes-control-plane/2", "10.10.0.13"),
    ])
}

#[test]
fn example_a_kubernetes_control_plane_is_answered_byte_for_byte() {
    let snap = snapshot(
        7,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-external", REQ_A)],
        kcp_units(),
        Some(&[]),
        "10.10.0.100",
    );
    let (parsed, answers) = run(&[snap], &settings("203.0.113.10"));
    assert!(parsed.rejections.is_empty(), "{:?}", parsed.rejections);
    let servers: Vec<String> = parsed.requests[0].backends[0]
        .servers
        .iter()
        .map(|s| format!("{}:{}", s.host, s.port))
        .collect();
    assert_eq!(
        servers,
        ["10.10.0.11:6443", "10.10.0.12:6443", "10.10.0.13:6443"]
    );
    let want = bag(&[("version", "1"), ("response_api-server-external", RESP_A)]);
    assert_eq!(answers[0].desired, want);
    assert_eq!(
        answers[0].changes.as_ref(),
        Some(&want),
        "empty bag: send everything"
    );
    assert_eq!(answers[0].key, "lb-consumers:7");
}

#[test]
fn example_b_http_internal_with_default_backends_in_string_order() {
    let snap = snapshot(
        4,
        "webapp",
        &[("version", "1"), ("request_web", REQ_B)],
        units(&[
            ("webapp/0", "10.20.0.21"),
            ("webapp/1", "10.20.0.22"),
            ("webapp/10", "10.20.0.30"),
            ("webapp/2", "10.20.0.23"),
        ]),
        Some(&[("version", "1")]),
        "10.20.0.100",
    );
    let (parsed, answers) = run(&[snap], &settings("203.0.113.10"));
    let be = &parsed.requests[0].backends[0];
    let hosts: Vec<String> = be.servers.iter().map(|s| s.host.to_string()).collect();
    assert_eq!(
        hosts,
        ["10.20.0.21", "10.20.0.22", "10.20.0.30", "10.20.0.23"]
    );
    assert!(be.servers.iter().all(|s| s.port.get() == 8080));
    assert_eq!(
        parsed.requests[0].frontends[0].bind.to_string(),
        "10.20.0.100:80"
    );
    assert_eq!(answers[0].desired["response_web"], RESP_B);
    // version was already right: only the response is sent.
    assert_eq!(answers[0].changes, Some(bag(&[("response_web", RESP_B)])));
}

#[test]
fn example_c_errors_and_a_port_conflict_with_an_earlier_relation() {
    let first = snapshot(
        3,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-external", REQ_A)],
        kcp_units(),
        Some(&[]),
        "10.10.0.100",
    );
    let edge = snapshot(
        5,
        "edge",
        &[
            ("version", "1"),
            ("request_api", REQ_C_API),
            ("request_bad", REQ_C_BAD),
            ("request_dns", REQ_C_DNS),
            ("request_metrics", REQ_C_METRICS),
        ],
        units(&[("edge/0", "10.30.0.5")]),
        Some(&[]),
        "10.10.0.100",
    );
    // Given in the wrong order on purpose: relation ids decide precedence.
    let (parsed, answers) = run(&[edge, first], &settings("203.0.113.10"));
    assert_eq!(answers[0].id, 3);
    assert_eq!(answers[0].desired["response_api-server-external"], RESP_A);
    let want = bag(&[
        ("version", "1"),
        ("response_api", RESP_C_API),
        ("response_dns", RESP_C_DNS),
        ("response_metrics", RESP_C_METRICS),
    ]);
    assert_eq!(answers[1].desired, want, "request_bad gets no response");
    let bad = parsed
        .rejections
        .iter()
        .find(|r| matches!(&r.source, Source::App { request: Some(n), .. } if n == "bad"))
        .expect("bad is named in the rejections");
    assert_eq!(bad.field, "protocol");
    assert!(bad.reason.contains("'TCP' is not one of"), "{}", bad.reason);
    let status = LbStatus::from_answers(&answers);
    assert_eq!(
        status.to_string(),
        "1 load balancer request served, rejected: edge/api, edge/bad, edge/dns, edge/metrics"
    );
}

#[test]
fn port_conflict_within_one_relation_goes_to_the_later_key() {
    let other = REQ_C_API
        .replace("\"name\": \"api\"", "\"name\": \"zzz\"")
        .replace(
            "274aa963d06b910256c6adb5929096e9",
            "11112222333344445555666677778888",
        );
    let snap = snapshot(
        9,
        "edge",
        &[
            ("version", "1"),
            ("request_api", REQ_C_API),
            ("request_zzz", &other),
        ],
        units(&[("edge/0", "127.0.4.5")]),
        Some(&[]),
        "127.0.4.1",
    );
    let (_, answers) = run(&[snap], &settings("127.0.4.1"));
    assert!(
        answers[0].desired["response_api"].starts_with(r#"{"address": "127.0.4.1", "error": null"#)
    );
    assert_eq!(
        answers[0].desired["response_zzz"],
        r#"{"address": null, "error": "provider_error", "error_fields": {}, "error_message": "frontend port 443 is already in use", "received_hash": "11112222333344445555666677778888"}"#
    );
}

#[test]
fn stale_responses_are_deleted_and_unchanged_ones_are_not_resent() {
    let snap = snapshot(
        7,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-external", REQ_A)],
        kcp_units(),
        Some(&[
            ("version", "1"),
            ("response_api-server-external", RESP_A),
            ("response_gone", RESP_C_DNS),
        ]),
        "10.10.0.100",
    );
    let (_, answers) = run(&[snap], &settings("203.0.113.10"));
    assert_eq!(answers[0].changes, Some(bag(&[("response_gone", "")])));
    assert!(!answers[0].desired.contains_key("response_gone"));
}

#[test]
fn nothing_to_write_when_the_bag_is_already_right() {
    let snap = snapshot(
        7,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-external", REQ_A)],
        kcp_units(),
        Some(&[("version", "1"), ("response_api-server-external", RESP_A)]),
        "10.10.0.100",
    );
    let (_, answers) = run(&[snap], &settings("203.0.113.10"));
    assert_eq!(answers[0].changes, Some(Bag::new()));
}

#[test]
fn a_changed_sent_hash_is_re_answered_with_the_same_address() {
    let edited = REQ_A.replace(
        "8bac4854bc03e3640a2041dfaf77a112",
        "0123456789abcdef0123456789abcdef",
    );
    let snap = snapshot(
        7,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-external", &edited)],
        kcp_units(),
        Some(&[("version", "1"), ("response_api-server-external", RESP_A)]),
        "10.10.0.100",
    );
    let (_, answers) = run(&[snap], &settings("203.0.113.10"));
    let changes = answers[0].changes.clone().unwrap();
    assert_eq!(
        changes["response_api-server-external"],
        RESP_A.replace(
            "8bac4854bc03e3640a2041dfaf77a112",
            "0123456789abcdef0123456789abcdef"
        )
    );
}

#[test]
fn a_unit_change_reconfigures_but_does_not_rewrite_the_response() {
    let base = [("version", "1"), ("request_api-server-external", REQ_A)];
    let local: &[(&str, &str)] = &[("version", "1"), ("response_api-server-external", RESP_A)];
    let two = units(&[
        ("kubernetes-control-plane/0", "10.10.0.11"),
        ("kubernetes-control-plane/1", "10.10.0.12"),
    ]);
    let (p3, a3) = run(
        &[snapshot(
            7,
            "kubernetes-control-plane",
            &base,
            kcp_units(),
            Some(local),
            "10.10.0.100",
        )],
        &settings("203.0.113.10"),
    );
    let (p2, a2) = run(
        &[snapshot(
            7,
            "kubernetes-control-plane",
            &base,
            two,
            Some(local),
            "10.10.0.100",
        )],
        &settings("203.0.113.10"),
    );
    assert_eq!(p3.requests[0].backends[0].servers.len(), 3);
    assert_eq!(p2.requests[0].backends[0].servers.len(), 2);
    assert_eq!(a3[0].changes, Some(Bag::new()));
    assert_eq!(a2[0].changes, Some(Bag::new()));
}

#[test]
fn non_leaders_get_the_same_plan_and_no_changes() {
    let leader = snapshot(
        7,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-external", REQ_A)],
        kcp_units(),
        Some(&[]),
        "10.10.0.100",
    );
    let mut follower = leader.clone();
    follower.local_app_bag = None;
    let (pl, al) = run(&[leader], &settings("203.0.113.10"));
    let (pf, af) = run(&[follower], &settings("203.0.113.10"));
    assert_eq!(pl.requests, pf.requests);
    assert_eq!(al[0].desired, af[0].desired);
    assert_eq!(af[0].changes, None);
    assert_eq!(
        LbStatus::from_answers(&af).to_string(),
        "1 load balancer request served"
    );
}

#[test]
fn relations_without_a_usable_version_are_ignored_but_get_our_version() {
    for (version, rejected) in [(None, false), (Some("abc"), true), (Some("0"), true)] {
        let mut app_bag = vec![("request_api-server-external", REQ_A)];
        if let Some(v) = version {
            app_bag.push(("version", v));
        }
        let snap = snapshot(
            7,
            "kubernetes-control-plane",
            &app_bag,
            kcp_units(),
            Some(&[("response_old", RESP_A)]),
            "10.10.0.100",
        );
        let (parsed, answers) = run(&[snap], &settings("203.0.113.10"));
        assert!(parsed.requests.is_empty(), "{version:?}");
        assert_eq!(
            parsed.rejections.len(),
            usize::from(rejected),
            "{version:?}"
        );
        assert_eq!(answers[0].desired, bag(&[("version", "1")]));
        assert_eq!(
            answers[0].changes,
            Some(bag(&[("version", "1"), ("response_old", "")]))
        );
    }
}

#[test]
fn a_remote_version_above_one_is_read_with_v1_rules() {
    let snap = snapshot(
        7,
        "kubernetes-control-plane",
        &[("version", "2"), ("request_api-server-external", REQ_A)],
        kcp_units(),
        Some(&[]),
        "10.10.0.100",
    );
    let (_, answers) = run(&[snap], &settings("203.0.113.10"));
    assert_eq!(answers[0].desired["response_api-server-external"], RESP_A);
}

#[test]
fn a_request_without_backends_waits_and_keeps_an_earlier_answer() {
    let snap = snapshot(
        7,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-external", REQ_A)],
        Vec::new(),
        Some(&[("version", "1"), ("response_api-server-external", RESP_A)]),
        "10.10.0.100",
    );
    let (_, answers) = run(&[snap], &settings("203.0.113.10"));
    assert_eq!(answers[0].changes, Some(Bag::new()));
    assert_eq!(answers[0].outcomes[0].2, Outcome::Waiting);
    assert_eq!(answers[0].desired["response_api-server-external"], RESP_A);
    assert_eq!(
        LbStatus::from_answers(&answers).to_string(),
        "0 load balancer requests served, 1 waiting for backends"
    );
}

#[test]
fn two_keys_with_one_name_answer_only_the_first() {
    let snap = snapshot(
        7,
        "kcp",
        &[("version", "1"), ("request_a", REQ_A), ("request_b", REQ_A)],
        kcp_units(),
        Some(&[]),
        "10.10.0.100",
    );
    let (parsed, answers) = run(&[snap], &settings("203.0.113.10"));
    assert_eq!(parsed.requests.len(), 1);
    assert_eq!(answers[0].desired.len(), 2);
    assert!(matches!(answers[0].outcomes[1].2, Outcome::Skipped(_)));
}

#[test]
fn other_endpoints_and_other_keys_are_ignored() {
    let mut other = snapshot(
        1,
        "web",
        &[("version", "1"), ("request_x", REQ_A)],
        kcp_units(),
        Some(&[]),
        "10.0.0.1",
    );
    other.endpoint = "reverseproxy".into();
    let lb = snapshot(
        2,
        "kcp",
        &[
            ("version", "1"),
            ("egress-subnets", "x"),
            ("requests", "{"),
            ("request_api-server-external", REQ_A),
        ],
        kcp_units(),
        Some(&[("unrelated", "keep")]),
        "10.10.0.100",
    );
    let (parsed, answers) = run(&[other, lb], &settings("203.0.113.10"));
    assert_eq!(parsed.requests.len(), 1);
    assert_eq!(answers.len(), 1);
    assert!(!answers[0]
        .changes
        .as_ref()
        .unwrap()
        .contains_key("unrelated"));
}

#[test]
fn identical_inputs_give_identical_bags() {
    let make = || {
        snapshot(
            5,
            "edge",
            &[
                ("version", "1"),
                ("request_api", REQ_C_API),
                ("request_dns", REQ_C_DNS),
                ("request_metrics", REQ_C_METRICS),
            ],
            units(&[("edge/0", "10.30.0.5"), ("edge/1", "10.30.0.6")]),
            Some(&[]),
            "10.10.0.100",
        )
    };
    let (p1, a1) = run(&[make()], &settings("203.0.113.10"));
    let (p2, a2) = run(&[make()], &settings("203.0.113.10"));
    assert_eq!(a1, a2);
    assert_eq!(p1.requests, p2.requests);
}

#[test]
fn tls_termination_returns_files_for_the_caller() {
    let (cert, key) = pem::tests::openssl_pair("rsa", "lb.example");
    let request = serde_json::json!({"id": "i", "name": "secure", "protocol": "https",
        "port_mapping": {"443": 8443}, "tls_termination": true, "tls_cert": cert, "tls_key": key,
        "sent_hash": "h"})
    .to_string();
    let snap = snapshot(
        8,
        "app",
        &[("version", "1"), ("request_secure", &request)],
        units(&[("app/0", "127.0.4.7")]),
        Some(&[]),
        "127.0.4.1",
    );
    let (parsed, answers) = run(&[snap], &settings("127.0.4.1"));
    assert_eq!(parsed.files.len(), 1);
    assert_eq!(
        parsed.files[0].path.as_str(),
        "/var/lib/haproxy-lb/lb-certs/lb-8-secure.pem"
    );
    assert!(
        !format!("{parsed:?}").contains("PRIVATE KEY-----"),
        "no key in Debug"
    );
    assert!(!format!("{answers:?}").contains("PRIVATE KEY-----"));
    assert!(answers[0].desired["response_secure"].contains(r#""error": null"#));
}
