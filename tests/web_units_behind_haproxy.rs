//! End to end without the simulator: three real `web` charm units (their own hooks, their own
//! servers on 127.0.3.11-13) publish on `website`; their bags go through
//! `interfaces::http::reverseproxy::parse`, `plan::build` and the engine's `apply` to a real
//! HAProxy; traffic reaches every unit; removing a unit (its bag leaves the snapshot, then the
//! unit stops) loses no request. Bounded client loops; everything started is stopped on drop.

mod util;
mod webcharm;

use haproxy_lb::haproxy::apply;
use haproxy_lb::interfaces::http::reverseproxy::{self, parse_config_services, Inputs};
use haproxy_lb::interfaces::{RelationSnapshot, RemoteUnit};
use haproxy_lb::plan::build::PlanInputs;
use haproxy_lb::plan::{build, FilePath, GlobalSettings};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webcharm::WebUnit;

const FRONT: &str = "127.0.3.10:30081";
const SERVICES: &str = "- service_name: haproxy_service
  service_host: 127.0.3.10
  service_port: 30081
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check inter 1s
";

fn snapshot(units: &[&WebUnit]) -> RelationSnapshot {
    RelationSnapshot {
        id: 1,
        endpoint: "reverseproxy".to_owned(),
        remote_app: "web".to_owned(),
        remote_app_bag: BTreeMap::new(),
        units: units
            .iter()
            .map(|u| RemoteUnit {
                name: u.name.clone(),
                bag: u.bag(),
            })
            .collect(),
        local_unit_bag: BTreeMap::new(),
        local_app_bag: None,
        ingress_address: "127.0.3.10".to_owned(),
    }
}

fn serve(haproxy: &util::Haproxy, units: &[&WebUnit]) {
    let (config_services, _) = parse_config_services(SERVICES).unwrap();
    let paths = reverseproxy::Paths {
        cert_dir: FilePath::new("/var/lib/haproxy-lb/certs").unwrap(),
        errorfile_dir: FilePath::new("/var/lib/haproxy-lb/errorfiles").unwrap(),
    };
    let relations = vec![snapshot(units)];
    let out = reverseproxy::parse(&Inputs {
        our_unit: "haproxy-lb/0",
        config_services: &config_services,
        monitoring_port: 10000,
        relations: &relations,
        paths: &paths,
        default_cert: None,
        file_exists: &|_| false,
    });
    assert!(out.rejections.is_empty(), "{:?}", out.rejections);
    let (plan, rejections) = build(
        PlanInputs {
            global: GlobalSettings::default(),
            userlists: Vec::new(),
            stats: None,
        },
        out.requests,
    );
    assert!(rejections.is_empty(), "{rejections:?}");
    apply(&haproxy.service, &plan).unwrap_or_else(|e| {
        panic!(
            "apply failed: {e}\n{}\n{}",
            haproxy.config_text(),
            haproxy.log()
        )
    });
}

fn spread(requests: usize) -> BTreeMap<String, usize> {
    let front: SocketAddr = FRONT.parse().unwrap();
    let mut seen = BTreeMap::new();
    for _ in 0..requests {
        let (status, body) = util::get(front).unwrap();
        assert_eq!(status, 200, "body {body}");
        *seen.entry(body.trim().to_owned()).or_insert(0) += 1;
    }
    seen
}

#[test]
fn three_web_units_share_traffic_and_removing_one_loses_no_request() {
    let units: Vec<WebUnit> = (0..3)
        .map(|i| {
            let unit = WebUnit::new(&format!("web/{i}"), &format!("127.0.3.{}", 11 + i));
            unit.config(30080, "");
            unit.deploy_and_relate();
            unit
        })
        .collect();
    let haproxy = util::Haproxy::new();
    serve(&haproxy, &units.iter().collect::<Vec<_>>());
    let config = haproxy.config_text();
    assert!(
        config.contains("server web-2-30080 127.0.3.13:30080 maxconn 100 cookie S2 check inter 1s"),
        "{config}"
    );

    let seen = spread(30);
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        ["web/0", "web/1", "web/2"],
        "{seen:?}"
    );

    // A bounded client loop runs while web/2 leaves: first its bag leaves the snapshot (the
    // -departed hook on our side), then the unit stops.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let front: SocketAddr = FRONT.parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            let (mut ok, mut failed) = (0usize, Vec::new());
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && ok < 5000 {
                match util::get(front) {
                    Ok((200, _)) => ok += 1,
                    other => failed.push(format!("{other:?}")),
                }
            }
            (ok, failed)
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    serve(&haproxy, &[&units[0], &units[1]]);
    std::thread::sleep(Duration::from_millis(300));
    units[2].hook("stop");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = client.join().unwrap();
    assert!(
        failed.is_empty(),
        "{} failed of {}: {failed:?}",
        failed.len(),
        ok + failed.len()
    );
    assert!(ok > 10, "too few requests ({ok}) to prove anything");

    let seen = spread(20);
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        ["web/0", "web/1"],
        "{seen:?}"
    );
    assert!(!haproxy.config_text().contains("web-2-30080"));
}
