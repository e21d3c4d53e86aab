//! Static services from the `services` option (issue 5): the operator lists servers in config,
//! haproxy-lb serves them; a bad value blocks the unit naming the option and the problem while
//! the last valid config keeps serving. Through jujusim, real HAProxy, real traffic.

mod sim;

use sim::{http_get, test_charm, wait_for, Model};
use std::collections::BTreeSet;
use std::time::Duration;

const T: Duration = Duration::from_secs(3);

fn answering(addr: &str, port: u16, n: usize) -> BTreeSet<String> {
    (0..n)
        .filter_map(|_| http_get(addr, port, "/", T).ok())
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b.trim().to_owned())
        .collect()
}

fn static_services(servers: &[(String, String)], port: u16) -> String {
    let list: Vec<String> = servers
        .iter()
        .map(|(name, addr)| format!("[{name}, {addr}, 8080, check inter 2s]"))
        .collect();
    format!(
        "- service_name: static\n  service_port: {port}\n  service_options: [balance roundrobin]\n  servers: [{}]\n",
        list.join(", ")
    )
}

#[test]
fn servers_listed_in_config_are_served_and_a_bad_value_keeps_the_last_valid_one() {
    let m = Model::new("config_static_services");
    m.deploy_ours("haproxy-lb", 1, &[]);
    // Two web units that are NOT related: the operator points at them by address.
    m.deploy(&test_charm("web"), "web", 2, &[]);
    let servers: Vec<(String, String)> = ["web/0", "web/1"]
        .iter()
        .map(|u| (u.replace('/', "-"), m.address(u)))
        .collect();
    m.run(&[
        "config",
        "haproxy-lb",
        &format!("services={}", static_services(&servers, 8000)),
    ]);
    let lb = m.address("haproxy-lb/0");
    assert_eq!(
        m.workload("haproxy-lb/0"),
        ("active".into(), "1 service, 1 backend".into())
    );
    assert_eq!(m.open_ports("haproxy-lb/0"), ["8000/tcp"]);
    let both: BTreeSet<String> = ["web/0", "web/1"].map(String::from).into();
    assert_eq!(
        wait_for(Duration::from_secs(15), || {
            let seen = answering(&lb, 8000, 20);
            (seen == both).then_some(seen)
        }),
        Some(both.clone())
    );
    let cfg_before = m.haproxy_cfg("haproxy-lb/0");
    assert!(cfg_before.contains("balance roundrobin"), "{cfg_before}");

    // A value that is not a port: blocked, naming the option and the problem; nothing changes.
    let bad = "- service_name: static\n  service_port: eighty\n  servers: [[a, 198.18.0.1, 80]]\n";
    m.run(&["config", "haproxy-lb", &format!("services={bad}")]);
    let (status, message) = m.workload("haproxy-lb/0");
    assert_eq!(status, "blocked", "{message}");
    assert!(message.contains("services"), "{message}");
    assert!(message.contains("eighty"), "{message}");
    assert_eq!(
        m.haproxy_cfg("haproxy-lb/0"),
        cfg_before,
        "the last valid config is kept"
    );
    assert_eq!(answering(&lb, 8000, 20), both, "and keeps serving");

    // Another option changes while `services` is still bad: it applies, services stay as they were.
    m.run(&["config", "haproxy-lb", "global_maxconn=2000"]);
    let cfg = m.haproxy_cfg("haproxy-lb/0");
    assert!(cfg.contains("maxconn 2000"), "{cfg}");
    assert!(
        cfg.contains("server web-0 "),
        "the last valid services stay: {cfg}"
    );

    // Fixed: active again.
    m.run(&[
        "config",
        "haproxy-lb",
        &format!("services={}", static_services(&servers[..1], 8000)),
    ]);
    assert_eq!(m.workload("haproxy-lb/0").0, "active");
    assert_eq!(answering(&lb, 8000, 10), ["web/0".to_owned()].into());
}

#[test]
fn a_config_value_of_the_wrong_kind_blocks_naming_the_option() {
    let m = Model::new("config_bad_option");
    m.deploy_ours("haproxy-lb", 1, &[]);
    m.run(&["config", "haproxy-lb", "default_timeouts=client forever"]);
    let (status, message) = m.workload("haproxy-lb/0");
    assert_eq!(status, "blocked");
    assert!(message.contains("default_timeouts"), "{message}");
    assert!(message.contains("forever"), "{message}");
    let cfg = m.haproxy_cfg("haproxy-lb/0");
    assert!(cfg.contains("timeout client 50000"), "default kept: {cfg}");
}
