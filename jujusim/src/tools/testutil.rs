//! A hook context fixture and call helpers for the tool tests (test-only).

use super::{run, ToolOutput};
use crate::context::*;
use std::collections::{BTreeMap, BTreeSet};

pub fn bag(pairs: &[(&str, &str)]) -> Bag {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn relation(
    id: u64,
    endpoint: &str,
    remote_app: &str,
    is_peer: bool,
    members: &[&str],
) -> RelationView {
    RelationView {
        id,
        endpoint: endpoint.to_string(),
        interface: "http".to_string(),
        remote_app: remote_app.to_string(),
        is_peer,
        members: members.iter().map(|s| s.to_string()).collect(),
        broken: false,
        local_unit_bag: bag(&[
            ("egress-subnets", "198.18.0.1/32"),
            ("ingress-address", "198.18.0.1"),
            ("private-address", "198.18.0.1"),
        ]),
        local_app_bag: BTreeMap::new(),
        remote_unit_bags: BTreeMap::new(),
        remote_app_bag: BTreeMap::new(),
        pending_unit_writes: BTreeMap::new(),
        pending_app_writes: BTreeMap::new(),
        remote_model_uuid: "6b8e1c6e-0000-4000-8000-000000000001".to_string(),
        ingress_address: "198.18.0.1".to_string(),
        egress_subnets: vec!["198.18.0.1/32".to_string()],
    }
}

/// `lb/0` (leader) in `lb-relation-changed`-style context for relation `reverseproxy:2` with
/// `web/0` as the remote unit; also `reverseproxy:10` (api), the peer relation `peers:1` and a
/// broken `website:3`.
pub fn fixture() -> HookContext {
    let mut rp = relation(2, "reverseproxy", "web", false, &["web/0", "web/1"]);
    rp.remote_unit_bags.insert(
        "web/0".into(),
        bag(&[
            ("hostname", "198.18.1.1"),
            ("port", "80"),
            ("private-address", "198.18.1.1"),
        ]),
    );
    rp.remote_unit_bags.insert(
        "web/1".into(),
        bag(&[("hostname", "198.18.1.2"), ("port", "8080")]),
    );
    rp.remote_unit_bags
        .insert("web/2".into(), bag(&[("hostname", "198.18.1.3")]));
    rp.remote_app_bag = bag(&[("services", "- {service_name: web}")]);
    rp.local_app_bag = bag(&[("published", "yes")]);
    rp.local_unit_bag.insert("mine".into(), "1".into());
    let mut api = relation(10, "reverseproxy", "api", false, &["api/0"]);
    api.remote_unit_bags
        .insert("api/0".into(), bag(&[("port", "9000")]));
    api.ingress_address = "198.18.9.9".to_string();
    api.egress_subnets = vec!["198.18.9.0/24".to_string(), "198.19.0.0/16".to_string()];
    let mut peers = relation(1, "peers", "lb", true, &["lb/1"]);
    peers
        .remote_unit_bags
        .insert("lb/1".into(), bag(&[("peer", "one")]));
    peers.local_app_bag = bag(&[("shared", "s")]);
    let mut website = relation(3, "website", "consumer", false, &[]);
    website.broken = true;
    let relations = [rp, api, peers, website]
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let config: BTreeMap<String, serde_json::Value> = serde_json::from_str(
        r#"{"global_maxconn": 4096, "services": "", "ssl_cert": null, "enable_monitoring": false,
            "ratio": 0.5, "name": "lb <&> x"}"#,
    )
    .unwrap();
    HookContext {
        context_id: "lb/0-reverseproxy-relation-changed-1".to_string(),
        unit: "lb/0".to_string(),
        app: "lb".to_string(),
        model_name: "test".to_string(),
        model_uuid: "6b8e1c6e-0000-4000-8000-000000000001".to_string(),
        hook_name: "reverseproxy-relation-changed".to_string(),
        relation_id: Some(2),
        remote_unit: Some("web/0".to_string()),
        remote_app: Some("web".to_string()),
        is_leader: true,
        leadership_denied: false,
        config,
        relations,
        bindings: [
            "reverseproxy",
            "website",
            "lb-consumers",
            "peers",
            "juju-info",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        addresses: UnitAddresses {
            private_address: "198.18.0.1".to_string(),
            public_address: "198.18.0.1".to_string(),
            ingress_address: "198.18.0.1".to_string(),
            egress_subnets: vec!["198.18.0.1/32".to_string()],
            cidr: "198.18.0.0/16".to_string(),
            interface_name: "eth0".to_string(),
            mac_address: "00:16:3e:aa:bb:cc".to_string(),
        },
        opened_ports: BTreeSet::new(),
        port_changes: Vec::new(),
        machine_ports: BTreeMap::new(),
        unit_status: Status {
            status: "active".into(),
            message: "ready".into(),
            data: BTreeMap::new(),
        },
        app_status: Status {
            status: "active".into(),
            message: "".into(),
            data: BTreeMap::new(),
        },
        unit_statuses: [
            (
                "lb/0".to_string(),
                Status {
                    status: "active".into(),
                    message: "ready".into(),
                    data: BTreeMap::new(),
                },
            ),
            (
                "lb/1".to_string(),
                Status {
                    status: "waiting".into(),
                    message: "".into(),
                    data: BTreeMap::new(),
                },
            ),
        ]
        .into_iter()
        .collect(),
        leader_settings: BTreeMap::new(),
        charm_state: BTreeMap::new(),
        charm_state_exists: false,
        action: None,
        immediate: Vec::new(),
    }
}

/// The fixture as a plain (non-relation) hook, e.g. `config-changed`.
pub fn plain_hook() -> HookContext {
    let mut ctx = fixture();
    ctx.hook_name = "config-changed".into();
    ctx.relation_id = None;
    ctx.remote_unit = None;
    ctx.remote_app = None;
    ctx
}

pub fn call(ctx: &mut HookContext, tool: &str, args: &[&str]) -> ToolOutput {
    call_stdin(ctx, tool, args, None)
}

pub fn call_stdin(
    ctx: &mut HookContext,
    tool: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> ToolOutput {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run(
        tool,
        &args,
        std::path::Path::new("/nonexistent-cwd"),
        stdin.map(str::as_bytes),
        ctx,
    )
}

/// Asserts success with exactly `stdout` and an empty stderr.
#[track_caller]
pub fn assert_ok(out: &ToolOutput, stdout: &str) {
    assert_eq!(
        (
            out.code,
            String::from_utf8_lossy(&out.stdout).as_ref(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (0, stdout, ""),
    );
}

/// Asserts failure with `code` and exactly `ERROR <msg>\n` on stderr, nothing on stdout.
#[track_caller]
pub fn assert_err(out: &ToolOutput, code: i32, msg: &str) {
    assert_eq!(
        (
            out.code,
            String::from_utf8_lossy(&out.stdout).as_ref(),
            String::from_utf8_lossy(&out.stderr).into_owned()
        ),
        (code, "", format!("ERROR {msg}\n")),
    );
}

/// One row of a conformance table: argv, expected exit code, expected stdout or error text.
pub struct Case {
    pub args: &'static [&'static str],
    pub code: i32,
    pub text: &'static str,
}

pub const fn ok(args: &'static [&'static str], stdout: &'static str) -> Case {
    Case {
        args,
        code: 0,
        text: stdout,
    }
}
pub const fn usage(args: &'static [&'static str], msg: &'static str) -> Case {
    Case {
        args,
        code: 2,
        text: msg,
    }
}
pub const fn fail(args: &'static [&'static str], msg: &'static str) -> Case {
    Case {
        args,
        code: 1,
        text: msg,
    }
}

/// Runs every case against a fresh context from `make`.
#[track_caller]
pub fn check_table(tool: &str, make: fn() -> HookContext, cases: &[Case]) {
    for case in cases {
        let mut ctx = make();
        let out = call(&mut ctx, tool, case.args);
        let got = (
            out.code,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        let want = if case.code == 0 {
            (0, case.text.to_string(), String::new())
        } else {
            (case.code, String::new(), format!("ERROR {}\n", case.text))
        };
        assert_eq!(got, want, "{tool} {:?}", case.args);
    }
}
