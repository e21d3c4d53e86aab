//! The http interface end to end (issue 6): haproxy-lb and the `web` test charm deployed in a
//! jujusim model, related on `reverseproxy`/`website`, real HAProxy, real HTTP traffic.

mod sim;

use sim::{http_get, test_charm, wait_for, Model};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(3);

/// Which units answered `count` requests through the load balancer.
fn answering_units(addr: &str, port: u16, count: usize) -> BTreeSet<String> {
    (0..count)
        .filter_map(|_| http_get(addr, port, "/", T).ok())
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body.trim().to_owned())
        .collect()
}

fn three_web_units_behind_us(test: &str) -> (Model, String) {
    let m = Model::new(test);
    m.deploy_ours("haproxy-lb", 1, &[]);
    m.deploy(&test_charm("web"), "web", 3, &[]);
    m.run(&["relate", "haproxy-lb:reverseproxy", "web:website"]);
    let lb = m.address("haproxy-lb/0");
    (m, lb)
}

#[test]
fn traffic_reaches_all_three_units_and_survives_remove_unit() {
    let (m, lb) = three_web_units_behind_us("web_three_units");
    assert_eq!(
        m.workload("haproxy-lb/0"),
        ("active".into(), "1 service, 1 backend".into())
    );
    assert_eq!(m.open_ports("haproxy-lb/0"), ["80/tcp"]);
    let all: BTreeSet<String> = ["web/0", "web/1", "web/2"].map(String::from).into();
    let seen = wait_for(Duration::from_secs(15), || {
        let seen = answering_units(&lb, 80, 30);
        (seen == all).then_some(seen)
    });
    assert_eq!(
        seen,
        Some(all),
        "requests must spread across all three units"
    );

    // A bounded client loop (at most 2000 requests, at most 20 s) while web/2 goes away.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (lb, stop) = (lb.clone(), stop.clone());
        std::thread::spawn(move || {
            let (mut sent, mut failed) = (0u32, Vec::new());
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed)
                && sent < 2000
                && start.elapsed() < Duration::from_secs(20)
            {
                sent += 1;
                match http_get(&lb, 80, "/", T) {
                    Ok((200, _)) => {}
                    other => failed.push(format!("{other:?}")),
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (sent, failed)
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    m.run(&["remove-unit", "web/2"]);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (sent, failed) = client.join().unwrap();
    assert!(sent > 20, "the client loop ran: {sent} requests");
    assert!(
        failed.is_empty(),
        "{} of {sent} requests failed: {failed:?}",
        failed.len()
    );

    let remaining: BTreeSet<String> = ["web/0", "web/1"].map(String::from).into();
    assert_eq!(answering_units(&lb, 80, 30), remaining);
    assert!(!m.haproxy_cfg("haproxy-lb/0").contains("web-2-8080"));
}

#[test]
fn two_apps_pool_by_default_and_split_with_services_entries() {
    let m = Model::new("web_two_apps");
    m.deploy_ours("haproxy-lb", 1, &[]);
    m.deploy(&test_charm("web"), "web1", 1, &[]);
    m.deploy(&test_charm("web"), "web2", 1, &["port=8081"]);
    m.run(&["relate", "haproxy-lb:reverseproxy", "web1:website"]);
    m.run(&["relate", "haproxy-lb:reverseproxy", "web2:website"]);
    let lb = m.address("haproxy-lb/0");
    let pooled: BTreeSet<String> = ["web1/0", "web2/0"].map(String::from).into();
    assert_eq!(
        wait_for(Duration::from_secs(15), || {
            let seen = answering_units(&lb, 80, 20);
            (seen == pooled).then_some(seen)
        }),
        Some(pooled),
        "with the default config both apps pool into haproxy_service"
    );

    let services = "- service_name: web1_service\n  service_port: 81\n- service_name: web2_service\n  service_port: 82\n";
    m.run(&["config", "haproxy-lb", &format!("services={services}")]);
    assert_eq!(answering_units(&lb, 81, 10), ["web1/0".to_owned()].into());
    assert_eq!(answering_units(&lb, 82, 10), ["web2/0".to_owned()].into());
    let mut ports = m.open_ports("haproxy-lb/0");
    ports.sort();
    assert_eq!(ports, ["81/tcp", "82/tcp"]);

    m.run(&["remove-relation", "haproxy-lb:reverseproxy", "web2:website"]);
    assert_eq!(
        answering_units(&lb, 81, 10),
        ["web1/0".to_owned()].into(),
        "the other relation is untouched"
    );
    assert!(http_get(&lb, 82, "/", T).is_err(), "port 82 is gone");
    assert_eq!(m.open_ports("haproxy-lb/0"), ["81/tcp"]);
}

#[test]
fn website_consumer_sees_our_address_and_port() {
    let (m, lb) = three_web_units_behind_us("web_website_bag");
    m.deploy(&test_charm("consumer"), "consumer", 1, &[]);
    m.run(&["relate", "haproxy-lb:website", "consumer:upstream"]);
    let unit = m.show_unit("consumer/0");
    let text = unit.to_string();
    let rel = unit["consumer/0"]["relation-info"]
        .as_array()
        .and_then(|rels| rels.iter().find(|r| r["endpoint"] == "upstream"))
        .unwrap_or_else(|| panic!("no upstream relation in {text}"));
    let ours = &rel["related-units"]["haproxy-lb/0"]["data"];
    assert_eq!(ours["hostname"], lb.as_str(), "{text}");
    assert_eq!(ours["port"], "80", "{text}");
    let all = ours["all_services"].as_str().unwrap_or_default();
    assert!(all.contains("service_name: haproxy_service"), "{all}");
    assert!(
        !all.contains("crts") && !all.contains("errorfiles"),
        "{all}"
    );
}

#[test]
fn a_bad_unit_is_rejected_and_the_others_keep_serving() {
    let (m, lb) = three_web_units_behind_us("web_bad_unit");
    // web/1 now claims a port that is not a number: only that unit is dropped.
    m.run(&[
        "exec",
        "web/1",
        "--",
        "relation-set -r $(relation-ids website) port=http",
    ]);
    m.run(&["fire", "haproxy-lb/0", "update-status"]);
    let (status, message) = m.workload("haproxy-lb/0");
    assert_eq!(status, "active");
    assert!(
        message.contains("web/1: port 'http' is not a number 1-65535"),
        "{message}"
    );
    let expected: BTreeSet<String> = ["web/0", "web/2"].map(String::from).into();
    assert_eq!(answering_units(&lb, 80, 30), expected);
}
