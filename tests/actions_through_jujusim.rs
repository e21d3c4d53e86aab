//! The operator actions through the model simulator (`jujusim run UNIT ACTION k=v`, exit 1
//! on a failed task): haproxy-lb in front of two `web` test units, real HAProxy, real traffic
//! to the unit's own address. Covers every action's results, failures, suspend/enable
//! idempotence with traffic, a config change while suspended, and a drained server.

mod sim;

use serde_json::Value;
use sim::{http_get, test_charm, wait_for, Model};
use std::collections::BTreeMap;
use std::time::Duration;

const T: Duration = Duration::from_secs(3);

/// `jujusim run`: `Ok(results)` for a completed task, `Err(message)` for a failed one.
fn action(m: &Model, unit: &str, name: &str, args: &[&str]) -> Result<Value, String> {
    let mut argv = vec!["run", unit, name];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--format", "json"]);
    let out = m.try_run(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let task: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("run {name}: {e}\nstdout: {stdout}\nstderr: {stderr}"));
    // `juju run --format json`: {"<unit>": {"results": {...}, "status": ..., "message": ...}}
    let task = task.get(unit).cloned().unwrap_or(task);
    if out.status.success() {
        assert_eq!(task["status"], "completed", "{task}");
        Ok(task["results"].clone())
    } else {
        assert_eq!(task["status"], "failed", "{task}");
        Err(task["message"].as_str().unwrap_or_default().to_owned())
    }
}

fn hits(addr: &str, port: u16, n: usize) -> BTreeMap<String, usize> {
    let mut hits = BTreeMap::new();
    for _ in 0..n {
        let key = match http_get(addr, port, "/", T) {
            Ok((200, body)) => body.trim().to_owned(),
            Ok((status, _)) => format!("status {status}"),
            Err(e) => format!("error {e}"),
        };
        *hits.entry(key).or_default() += 1;
    }
    hits
}

fn two_web_units(test: &str) -> (Model, String) {
    let m = Model::new(test);
    m.deploy_ours("haproxy-lb", 1, &[]);
    m.deploy(&test_charm("web"), "web", 2, &[]);
    m.run(&["relate", "haproxy-lb:reverseproxy", "web:website"]);
    let lb = m.address("haproxy-lb/0");
    let both = wait_for(Duration::from_secs(15), || {
        let h = hits(&lb, 80, 10);
        (h.len() == 2 && h.keys().all(|k| k.starts_with("web/"))).then_some(h)
    });
    assert!(both.is_some(), "both units answer: {:?}", hits(&lb, 80, 10));
    (m, lb)
}

#[test]
fn suspend_and_enable_through_the_model() {
    let (m, lb) = two_web_units("actions_suspend_enable");
    let results = action(&m, "haproxy-lb/0", "suspend", &[]).unwrap();
    assert_eq!(results["changed"], "true", "{results}");
    assert!(http_get(&lb, 80, "/", T).is_err(), "served while suspended");
    assert_eq!(
        m.workload("haproxy-lb/0"),
        (
            "maintenance".into(),
            "suspended by operator (run the enable action to resume)".into()
        )
    );
    assert!(m.open_ports("haproxy-lb/0").is_empty());
    let results = action(&m, "haproxy-lb/0", "suspend", &[]).unwrap();
    assert_eq!(results["changed"], "false");

    // Hooks keep coming (config change, a new unit): the unit stays suspended.
    let services = "- service_name: web_service\n  service_port: 81\n";
    m.run(&["config", "haproxy-lb", &format!("services={services}")]);
    m.run(&["add-unit", "web"]);
    assert_eq!(m.workload("haproxy-lb/0").0, "maintenance");
    assert!(http_get(&lb, 81, "/", T).is_err(), "served while suspended");
    assert!(m.open_ports("haproxy-lb/0").is_empty());
    let message = action(&m, "haproxy-lb/0", "stats", &[]).unwrap_err();
    assert!(message.contains("the unit is suspended"), "{message}");

    let results = action(&m, "haproxy-lb/0", "enable", &[]).unwrap();
    assert_eq!(results["changed"], "true", "{results}");
    assert_eq!(m.open_ports("haproxy-lb/0"), ["81/tcp"]);
    assert_eq!(m.workload("haproxy-lb/0").0, "active");
    let served = wait_for(Duration::from_secs(15), || {
        let h = hits(&lb, 81, 15);
        (h.len() == 3).then_some(h)
    });
    assert!(served.is_some(), "{:?}", hits(&lb, 81, 15));
    let results = action(&m, "haproxy-lb/0", "enable", &[]).unwrap();
    assert_eq!(results["changed"], "false");
}

#[test]
fn every_read_only_action_and_its_failures_through_the_model() {
    let (m, lb) = two_web_units("actions_read_only");
    let results = action(&m, "haproxy-lb/0", "stats", &[]).unwrap();
    assert_eq!(results["servers-up"], "2", "{results}");
    assert_eq!(results["servers-down"], "0");
    assert!(results["summary"].as_str().unwrap().contains("LAST CHECK"));

    let results = action(&m, "haproxy-lb/0", "version", &[]).unwrap();
    assert!(results["haproxy-version"]
        .as_str()
        .unwrap()
        .starts_with("2.6"));
    assert!(!results["juju-version"].as_str().unwrap().is_empty());

    let results = action(&m, "haproxy-lb/0", "show-config", &[]).unwrap();
    assert!(results["config"].as_str().unwrap().contains("frontend"));
    assert!(results["checksum"].as_str().unwrap().starts_with("sha256:"));

    let results = action(&m, "haproxy-lb/0", "get-proxied-endpoints", &[]).unwrap();
    let endpoints: Value = serde_json::from_str(results["endpoints"].as_str().unwrap()).unwrap();
    assert_eq!(
        endpoints[0]["endpoint"],
        format!("http://{lb}:80"),
        "{endpoints}"
    );

    let results = action(&m, "haproxy-lb/0", "reload", &[]).unwrap();
    assert_eq!(results["reloaded"], "false", "{results}");

    // Juju refuses parameters the schema does not allow before the charm runs.
    let refused = m.try_run(&["run", "haproxy-lb/0", "set-server-state", "backend=x"]);
    assert!(!refused.status.success());
    let message = action(
        &m,
        "haproxy-lb/0",
        "set-server-state",
        &["backend=haproxy_service", "server=nope", "state=drain"],
    )
    .unwrap_err();
    assert!(message.contains("unknown server 'nope'"), "{message}");
    let message = action(
        &m,
        "haproxy-lb/0",
        "archive-logs",
        &[
            "endpoint=https://swift.example/v1/AUTH_x",
            "token=t",
            "basepath=logs",
        ],
    )
    .unwrap_err();
    assert!(
        message.contains("https endpoints are not supported"),
        "{message}"
    );

    // Nothing listens on the unit's own port 9: the action fails, the token shows nowhere.
    let secret = "AUTH_tk_jujusim_secret_0123";
    let message = action(
        &m,
        "haproxy-lb/0",
        "archive-logs",
        &[
            "endpoint=http://127.0.0.1:9/v1/AUTH_x",
            &format!("token={secret}"),
            "basepath=logs",
            "timeout=2",
        ],
    )
    .unwrap_err();
    assert!(
        message.starts_with("creating container logs: cannot resolve or connect to 127.0.0.1:9"),
        "{message}"
    );
    assert!(!message.contains(secret));
    let log = m.debug_log_tail(1000);
    assert!(
        log.contains("archive-logs"),
        "the action's log is there: {log}"
    );
    assert!(
        !log.contains(secret),
        "the token leaked into the log: {log}"
    );
}

#[test]
fn a_drained_server_gets_no_new_requests_and_stays_drained_after_a_reload() {
    let (m, lb) = two_web_units("actions_drain");
    let stats = action(&m, "haproxy-lb/0", "stats", &[]).unwrap();
    let rows: Value = serde_json::from_str(stats["json"].as_str().unwrap()).unwrap();
    let (backend, server) = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["server"] != "FRONTEND" && r["server"] != "BACKEND")
        .map(|r| {
            (
                r["proxy"].as_str().unwrap().to_owned(),
                r["server"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap();
    let reloads = |m: &Model| -> String {
        let out = m.exec(
            "haproxy-lb/0",
            "echo 'show proc' | socat -t 5 stdio UNIX-CONNECT:/run/haproxy-master.sock | awk '$2==\"master\"{print $3}'",
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let before = reloads(&m);
    assert!(!before.is_empty());
    let results = action(
        &m,
        "haproxy-lb/0",
        "set-server-state",
        &[
            &format!("backend={backend}"),
            &format!("server={server}"),
            "state=drain",
        ],
    )
    .unwrap();
    assert_eq!(results["status"], "DRAIN", "{results}");
    assert_eq!(reloads(&m), before, "no reload for a runtime change");
    let h = hits(&lb, 80, 20);
    assert_eq!(h.len(), 1, "one unit takes every request: {h:?}");

    // A change that needs a reload keeps the drain.
    m.run(&["add-unit", "web"]);
    assert_ne!(reloads(&m), before, "adding a server reloads");
    let stats = action(&m, "haproxy-lb/0", "stats", &[]).unwrap();
    assert!(
        stats["json"].as_str().unwrap().contains("\"DRAIN\""),
        "{stats}"
    );
    let drained_body = format!(
        "web/{}",
        server.trim_start_matches("web-").split('-').next().unwrap()
    );
    let h = hits(&lb, 80, 30);
    assert!(
        !h.contains_key(&drained_body),
        "{drained_body} got traffic: {h:?}"
    );
}
