//! The operator actions end to end without the simulator: the dispatcher reads parameters from
//! (recording) `action-get` and reports through `action-set`/`action-fail`, against a real
//! HAProxy that the same reconcile a hook runs started, in front of real HTTP backends.
//! Each test has its own ports (55100-55899) so they run in parallel.

mod actions_support;
mod support;
mod util;

use actions_support::{get, ip, services_option, Unit};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use util::PyBackend;

fn front(port: u16) -> SocketAddr {
    SocketAddr::new(ip(10), port)
}

/// Wait (bounded) until both servers of `be_web`... are UP, so counts are stable.
fn wait_servers_up(unit: &Unit, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let results = unit.action("stats", json!({})).results();
        if results["servers-up"] == n.to_string() {
            return;
        }
        assert!(Instant::now() < deadline, "servers not up: {results:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn stats_reports_every_server_and_fails_when_haproxy_is_down() {
    let _a = PyBackend::start("web-0", ip(11), 55111);
    let _b = PyBackend::start("web-1", ip(12), 55112);
    let unit = Unit::new(&services_option(
        55101,
        &[("web-0", 11, 55111), ("web-1", 12, 55112)],
    ));
    let summary = unit.hook();
    assert_eq!(summary.apply_error, None, "{}", unit.log());
    wait_servers_up(&unit, 2);
    let results = unit.action("stats", json!({})).results();
    assert_eq!(results["servers-down"], "0");
    assert!(results["summary"].starts_with("PROXY"), "{results:?}");
    assert!(results["summary"].contains("web-0"), "{results:?}");
    let rows: serde_json::Value = serde_json::from_str(&results["json"]).unwrap();
    let servers: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["server"].as_str().unwrap())
        .collect();
    assert!(
        servers.contains(&"web-1") && servers.contains(&"FRONTEND"),
        "{servers:?}"
    );

    unit.service().stop().unwrap();
    let message = unit.action("stats", json!({})).failure();
    assert!(
        message.starts_with(
            "cannot read statistics: HAProxy is not running or its runtime socket does not answer"
        ),
        "{message}"
    );
    let message = unit.action("stats", json!({"verbose": true})).failure();
    assert!(message.contains("unknown field `verbose`"), "{message}");
}

#[test]
fn suspend_stops_traffic_enable_resumes_it_and_a_config_change_while_suspended_waits() {
    let _a = PyBackend::start("web-0", ip(21), 55211);
    let unit = Unit::new(&services_option(55201, &[("web-0", 21, 55211)]));
    unit.hook();
    assert_eq!(get(front(55201)).as_deref(), Ok("web-0"));

    unit.recorder.respond("opened-ports", "[\"55201/tcp\"]");
    let results = unit.action("suspend", json!({})).results();
    assert_eq!(results["suspended"], "true");
    assert_eq!(results["changed"], "true");
    assert!(
        unit.recorder
            .lines()
            .contains(&"close-port 55201/tcp".to_owned()),
        "{:?}",
        unit.recorder.lines()
    );
    unit.recorder.respond("opened-ports", "[]");
    assert!(
        unit.statuses().iter().any(|s| s
            .ends_with("maintenance -- suspended by operator (run the enable action to resume)")),
        "{:?}",
        unit.recorder.lines()
    );
    let refused = get(front(55201)).unwrap_err();
    assert!(refused.contains("refused"), "{refused}");
    let endpoints = unit.action("get-proxied-endpoints", json!({})).results();
    assert_eq!(endpoints["suspended"], "true");
    // Idempotent: a second suspend changes nothing and still succeeds.
    let results = unit.action("suspend", json!({})).results();
    assert_eq!(results["changed"], "false");

    // A hook while suspended (here: the operator moves the service to another port).
    unit.set_services(&services_option(55202, &[("web-0", 21, 55211)]));
    unit.recorder.clear();
    let summary = unit.hook();
    assert_eq!(summary.plan_services, 1);
    assert!(
        unit.statuses()
            .iter()
            .all(|s| s.contains("maintenance -- suspended by operator")),
        "{:?}",
        unit.statuses()
    );
    assert!(get(front(55201)).is_err());
    assert!(get(front(55202)).is_err(), "served while suspended");

    let results = unit.action("enable", json!({})).results();
    assert_eq!(results["suspended"], "false");
    assert_eq!(results["changed"], "true");
    assert_eq!(results["haproxy-running"], "true");
    assert_eq!(get(front(55202)).as_deref(), Ok("web-0"));
    assert!(get(front(55201)).is_err());
    assert!(
        unit.recorder
            .lines()
            .contains(&"open-port 55202/tcp".to_owned()),
        "{:?}",
        unit.recorder.lines()
    );
    let results = unit.action("enable", json!({})).results();
    assert_eq!(results["changed"], "false");
    assert_eq!(get(front(55202)).as_deref(), Ok("web-0"));
}

#[test]
fn enable_keeps_the_unit_suspended_when_haproxy_cannot_serve() {
    let unit = Unit::new(&services_option(55301, &[("web-0", 31, 55311)]));
    unit.hook();
    unit.action("suspend", json!({})).results();
    // Something else took the port: HAProxy cannot bind it on enable.
    let _squatter = std::net::TcpListener::bind(front(55301)).unwrap();
    let message = unit.action("enable", json!({})).failure();
    assert!(message.ends_with("the unit stays suspended"), "{message}");
    assert!(haproxy_lb::reconcile::suspension::is_suspended(
        &unit.settings.state_dir
    ));
}

#[test]
fn reload_says_whether_a_reload_was_needed() {
    let _a = PyBackend::start("web-0", ip(41), 55411);
    let _b = PyBackend::start("web-1", ip(42), 55412);
    let unit = Unit::new(&services_option(55401, &[("web-0", 41, 55411)]));
    unit.hook();
    let before = unit.reloads();
    let results = unit.action("reload", json!({})).results();
    assert_eq!(results["reloaded"], "false", "{results:?}");
    assert!(
        results["reason"].contains("no reload needed"),
        "{results:?}"
    );
    assert_eq!(unit.reloads(), before);

    unit.set_services(&services_option(
        55401,
        &[("web-0", 41, 55411), ("web-1", 42, 55412)],
    ));
    let results = unit.action("reload", json!({})).results();
    assert_eq!(results["reloaded"], "true", "{results:?}");
    assert!(results["reason"].contains("verified reload"), "{results:?}");
    assert_eq!(unit.reloads(), before + 1);

    // HAProxy down: the reconcile starts it, and says so.
    unit.service().stop().unwrap();
    let results = unit.action("reload", json!({})).results();
    assert_eq!(results["reloaded"], "true", "{results:?}");
    assert_eq!(results["reason"], "HAProxy was not running: started it");
    assert_eq!(
        get(front(55401)).as_deref().map(|b| b.starts_with("web-")),
        Ok(true)
    );

    unit.action("suspend", json!({})).results();
    let message = unit.action("reload", json!({})).failure();
    assert_eq!(
        message,
        "the unit is suspended: nothing was reloaded (run the enable action first)"
    );
}

#[test]
fn version_show_config_and_endpoints_describe_the_live_unit() {
    let _a = PyBackend::start("web-0", ip(51), 55511);
    let unit = Unit::new(&services_option(55501, &[("web-0", 51, 55511)]));

    let message = unit.action("get-proxied-endpoints", json!({})).failure();
    assert!(message.contains("no config has been applied"), "{message}");
    let message = unit.action("show-config", json!({})).failure();
    assert!(
        message.starts_with("cannot read the live config"),
        "{message}"
    );

    unit.hook();
    let results = unit.action("version", json!({})).results();
    assert!(results["haproxy-version"].starts_with("2.6"), "{results:?}");
    assert_eq!(results["haproxy-version-source"], "running");
    assert_eq!(results["juju-version"], "3.6.8");
    assert_eq!(results["charm-version"], env!("CARGO_PKG_VERSION"));

    let results = unit.action("show-config", json!({})).results();
    let live = std::fs::read(&unit.settings.haproxy.config).unwrap();
    assert_eq!(
        results["checksum"],
        format!(
            "sha256:{}",
            haproxy_lb::actions::show_config::hex(&Sha256::digest(&live))
        )
    );
    assert!(results["config"].contains("frontend "), "{results:?}");
    assert!(results["config"].contains("server web-0 127.0.6.51:55511"));

    let results = unit.action("get-proxied-endpoints", json!({})).results();
    let endpoints: serde_json::Value = serde_json::from_str(&results["endpoints"]).unwrap();
    assert_eq!(results["count"], "1");
    assert_eq!(endpoints[0]["endpoint"], "http://127.0.6.10:55501");
    assert_eq!(endpoints[0]["service"], "web");
    assert_eq!(endpoints[0]["requester"], "config services");
    assert_eq!(results["suspended"], "false");

    unit.service().stop().unwrap();
    let results = unit.action("version", json!({})).results();
    assert_eq!(results["haproxy-version-source"], "installed");
}

fn count_hits(addr: SocketAddr, n: usize) -> std::collections::BTreeMap<String, usize> {
    let mut hits = std::collections::BTreeMap::new();
    for _ in 0..n {
        let body = get(addr).unwrap_or_else(|e| format!("error: {e}"));
        *hits.entry(body).or_default() += 1;
    }
    hits
}

#[test]
fn drained_server_gets_no_new_requests_without_a_reload_and_stays_drained_after_one() {
    let _a = PyBackend::start("web-0", ip(61), 55611);
    let _b = PyBackend::start("web-1", ip(62), 55612);
    let unit = Unit::new(&services_option(
        55601,
        &[("web-0", 61, 55611), ("web-1", 62, 55612)],
    ));
    unit.hook();
    wait_servers_up(&unit, 2);
    let hits = count_hits(front(55601), 20);
    assert_eq!(hits.get("web-0"), Some(&10), "{hits:?}");

    let backend = {
        let rows = unit.action("stats", json!({})).results();
        let rows: serde_json::Value = serde_json::from_str(&rows["json"]).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["server"] == "web-0")
            .unwrap()["proxy"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let reloads = unit.reloads();
    let results = unit
        .action(
            "set-server-state",
            json!({"backend": backend, "server": "web-0", "state": "drain"}),
        )
        .results();
    assert_eq!(results["state"], "drain");
    assert_eq!(results["status"], "DRAIN");
    assert_eq!(results["server"], format!("{backend}/web-0"));
    assert_eq!(unit.reloads(), reloads, "set-server-state reloaded HAProxy");
    let hits = count_hits(front(55601), 20);
    assert_eq!(hits.get("web-1"), Some(&20), "{hits:?}");

    // A reload (a config change) keeps it.
    unit.set_services(&services_option(
        55601,
        &[
            ("web-0", 61, 55611),
            ("web-1", 62, 55612),
            ("web-2", 63, 55613),
        ],
    ));
    unit.hook();
    assert_eq!(unit.reloads(), reloads + 1);
    let hits = count_hits(front(55601), 20);
    assert!(!hits.contains_key("web-0"), "{hits:?}");

    // So does a stop and start (suspend, enable): HAProxy forgets runtime state there.
    unit.action("suspend", json!({})).results();
    unit.action("enable", json!({})).results();
    let hits = count_hits(front(55601), 20);
    assert!(!hits.contains_key("web-0"), "{hits:?}");
    let stats = unit.action("stats", json!({})).results();
    assert!(stats["json"].contains("DRAIN"), "{stats:?}");

    // And back to ready.
    let results = unit
        .action(
            "set-server-state",
            json!({"backend": backend, "server": "web-0", "state": "ready"}),
        )
        .results();
    assert_eq!(results["state"], "ready");
    let hits = count_hits(front(55601), 20);
    assert!(hits.contains_key("web-0"), "{hits:?}");
}

#[test]
fn set_server_state_refuses_unknown_and_hostile_names_and_a_stopped_haproxy() {
    let _a = PyBackend::start("web-0", ip(71), 55711);
    let unit = Unit::new(&services_option(55701, &[("web-0", 71, 55711)]));
    unit.hook();
    // No unknown name in a failure reaches the socket: the one backend is `web`.
    let cases = [
        (
            json!({"backend": "be_nothing", "server": "web-0", "state": "drain"}),
            "unknown backend 'be_nothing'",
        ),
        (
            json!({"backend": "web", "server": "web-9", "state": "maint"}),
            "unknown server 'web-9' in backend web: it has web-0",
        ),
        (
            json!({"backend": "web", "server": "web-0; disable frontend fe_web", "state": "drain"}),
            "server 'web-0; disable frontend fe_web' is not a valid name",
        ),
        (
            json!({"backend": "web", "server": "web-0", "state": "paused"}),
            "bad parameters for set-server-state: unknown variant `paused`",
        ),
        (
            json!({"backend": "web", "server": "web-0"}),
            "missing field `state`",
        ),
    ];
    for (params, expected) in cases {
        let message = unit.action("set-server-state", params.clone()).failure();
        assert!(message.contains(expected), "{params}: {message}");
        assert!(
            message.ends_with("nothing was done")
                || message.ends_with("no server state was changed"),
            "{message}"
        );
    }
    // The frontend still serves: nothing reached the socket.
    assert_eq!(get(front(55701)).as_deref(), Ok("web-0"));

    unit.service().stop().unwrap();
    let message = unit
        .action(
            "set-server-state",
            json!({"backend": "web", "server": "web-0", "state": "drain"}),
        )
        .failure();
    assert!(message.contains("HAProxy is not running"), "{message}");
}
