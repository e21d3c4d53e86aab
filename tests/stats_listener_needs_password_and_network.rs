//! The monitoring listener from the charm options: the stats page needs the password (hashed
//! in the config), `/metrics` serves Prometheus text, and a source outside
//! `monitoring_allowed_cidr` is refused. Uses curl (`--interface` picks the source address).

mod util;

use haproxy_lb::charm_config::resolve;
use haproxy_lb::haproxy::apply;
use serde_json::json;
use std::process::Command;
use util::*;

fn curl(source: &str, url: &str, user: Option<&str>) -> String {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "5",
    ])
    .args(["--interface", source]);
    if let Some(user) = user {
        cmd.args(["-u", user]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("curl must be installed (make deps)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn stats_page_needs_the_password_and_refuses_other_networks() {
    let state = tempfile::tempdir().unwrap();
    let mut options = haproxy_lb::charm_config::defaults();
    for (k, v) in [
        ("enable_monitoring", json!(true)),
        ("monitoring_port", json!(22500)),
        ("monitoring_allowed_cidr", json!("127.0.2.80/32")),
        ("monitoring_username", json!("admin")),
        ("monitoring_password", json!("S3cret-pw")),
    ] {
        options.insert(k.into(), v);
    }
    let (effective, problems) = resolve(&options, state.path());
    assert!(problems.is_empty(), "{problems:?}");
    let (listener, userlist) = effective.monitoring.unwrap().plan_parts(Some(ip(81)));
    let mut plan = plan(vec![]);
    plan.global = effective.global;
    plan.stats = Some(listener);
    plan.userlists = vec![userlist];

    let haproxy = Haproxy::new();
    apply(&haproxy.service, &plan).unwrap();
    let text = haproxy.config_text();
    assert!(
        !text.contains("S3cret-pw"),
        "password in clear in haproxy.cfg"
    );
    assert!(text.contains("user admin password $6$"), "{text}");

    let stats = "http://127.0.2.81:22500/stats";
    assert_eq!(curl("127.0.2.80", stats, None), "401");
    assert_eq!(curl("127.0.2.80", stats, Some("admin:wrong")), "401");
    assert_eq!(curl("127.0.2.80", stats, Some("admin:S3cret-pw")), "200");
    assert_eq!(
        curl("127.0.2.80", "http://127.0.2.81:22500/metrics", None),
        "200"
    );
    // Another source address: the connection is rejected before any HTTP (curl prints 000).
    assert_eq!(curl("127.0.2.82", stats, Some("admin:S3cret-pw")), "000");
}
