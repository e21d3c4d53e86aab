//! The real requirer library reads our answers: the `lb-requirer` test charm (ops +
//! `LBProvider` from loadbalancer-interface 1.2.1) runs under ops' Harness in
//! `tests/loadbalancer_requirer_harness.py`; this test answers its requests with our own
//! parse -> plan::build -> responses pipeline, as our leader would, and checks what the
//! library reads back: success with our address and matching hash, every error kind with the
//! right fields, the non-leader view, and the removal of a withdrawn request's response.

use haproxy_lb::interfaces::loadbalancer::{parse, responses, LbSettings, ENDPOINT};
use haproxy_lb::interfaces::{Bag, RelationSnapshot, RemoteUnit};
use haproxy_lb::plan::build::PlanInputs;
use haproxy_lb::plan::{FilePath, GlobalSettings};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Kills the driver even when an assertion fails.
struct Driver {
    child: Child,
    stdin: ChildStdin,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn receive(&mut self) -> Value {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            if let Some(body) = line.strip_prefix("@@ ") {
                return serde_json::from_str(body).unwrap();
            }
        }
        panic!("driver exited early; see its stderr above");
    }

    fn send(&mut self, value: Value) {
        writeln!(self.stdin, "@@ {value}").unwrap();
        self.stdin.flush().unwrap();
    }
}

fn start(config: &Value) -> Driver {
    let out = Command::new("make")
        .args(["-s", "venv-lb"])
        .current_dir(root())
        .output()
        .expect("make must be installed");
    assert!(
        out.status.success(),
        "make venv-lb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(root().join(".venv-lb/bin/python3"))
        .arg(root().join("tests/loadbalancer_requirer_harness.py"))
        .arg(config.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    Driver {
        child,
        stdin,
        lines,
    }
}

/// Our leader's hook: read the requirer's bag, answer, return the relation-set changes.
fn answer(requests: &Value, our_bag: &mut Bag) -> Bag {
    let remote_app_bag: Bag = requests
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let unit = |name: &str, address: &str| RemoteUnit {
        name: name.into(),
        bag: Bag::from([("ingress-address".to_string(), address.to_string())]),
    };
    let snapshot = RelationSnapshot {
        id: 1,
        endpoint: ENDPOINT.into(),
        remote_app: "lb-requirer".into(),
        remote_app_bag,
        units: vec![
            unit("lb-requirer/0", "127.0.4.21"),
            unit("lb-requirer/1", "127.0.4.22"),
        ],
        local_unit_bag: Bag::new(),
        local_app_bag: Some(our_bag.clone()),
        ingress_address: "127.0.4.1".into(),
    };
    let settings = LbSettings {
        public_address: Some("127.0.4.1".into()),
        vip: String::new(),
        external_hostname: String::new(),
        cert_dir: FilePath::new("/tmp/lb-certs").unwrap(),
    };
    let parsed = parse(&[snapshot], &settings);
    let inputs = PlanInputs {
        global: GlobalSettings::default(),
        userlists: vec![],
        stats: None,
    };
    let (plan, rejections) = haproxy_lb::plan::build(inputs, parsed.requests.clone());
    let answers = responses(&parsed.state, &plan, &rejections);
    let changes = answers[0].changes.clone().expect("leader view");
    for (k, v) in &changes {
        if v.is_empty() {
            our_bag.remove(k);
        } else {
            our_bag.insert(k.clone(), v.clone());
        }
    }
    changes
}

fn entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    &report["report"]["responses"][name]
}

#[test]
fn the_real_requirer_library_reads_every_answer() {
    let config = json!({
        "requests": "kcp,http,bad-protocol,udp,conflict,bad-cert",
        "kcp_frontend_port": 40443, "kcp_backend_port": 46443,
        "http_frontend_port": 40080, "http_backend_port": 48080,
        "udp_port": 40053, "bad_cert_port": 40444, "serve": false,
    });
    let mut driver = start(&config);
    let mut our_bag = Bag::from([("version".to_string(), "1".to_string())]);

    // 1. Leader: every scenario.
    let requests = driver.receive()["requests"].clone();
    for key in [
        "request_api-server-external",
        "request_web",
        "request_bad-protocol",
        "request_dns",
        "request_conflict",
        "request_bad-cert",
    ] {
        assert!(
            requests.get(key).is_some(),
            "the library sent {key}: {requests}"
        );
    }
    let changes = answer(&requests, &mut our_bag);
    assert!(
        !changes.contains_key("response_bad-protocol"),
        "skipped requests get no answer"
    );
    driver.send(json!({ "changes": changes }));
    let leader = driver.receive();
    println!("leader report: {leader:#}");
    assert!(
        leader["report"].get("all_responses_exception").is_none(),
        "{leader}"
    );
    assert!(
        leader["report"].get("complete_exception").is_none(),
        "{leader}"
    );
    for name in ["api-server-external", "web"] {
        let e = entry(&leader, name);
        assert_eq!(e["success"], true, "{name}: {e}");
        assert_eq!(e["address"], "127.0.4.1", "{name}: {e}");
        assert_eq!(e["hash_matches"], true, "{name}: {e}");
        assert_eq!(e["complete"], true, "{name}: {e}");
        assert!(
            e["sent_hash"].as_str().is_some_and(|h| h.len() == 32),
            "{e}"
        );
    }
    assert_eq!(entry(&leader, "bad-protocol")["present"], false);
    let dns = entry(&leader, "dns");
    assert_eq!(dns["error"], "unsupported", "{dns}");
    assert_eq!(
        dns["error_fields"],
        json!({"protocol": "udp is not supported"})
    );
    assert_eq!(dns["hash_matches"], true);
    let conflict = entry(&leader, "conflict");
    assert_eq!(conflict["error"], "provider_error", "{conflict}");
    assert_eq!(
        conflict["error_message"],
        "frontend port 40443 is already in use"
    );
    assert_eq!(conflict["error_fields"], json!({}));
    assert_eq!(conflict["hash_matches"], true);
    let cert = entry(&leader, "bad-cert");
    assert_eq!(cert["error"], "unsupported", "{cert}");
    assert_eq!(
        cert["error_fields"],
        json!({"tls_cert": "certificate 0 is not valid base64/DER"})
    );
    for e in leader["report"]["responses"].as_object().unwrap().values() {
        assert!(e.get("exception").is_none(), "library raised: {e}");
    }
    assert_eq!(
        leader["report"]["all_responses"],
        json!(["api-server-external", "bad-cert", "conflict", "dns", "web"])
    );

    // 2. A non-leader parses every response too.
    let follower = driver.receive();
    assert_eq!(follower["report"]["leader"], false);
    assert!(
        follower["report"].get("all_responses_exception").is_none(),
        "{follower}"
    );
    assert_eq!(
        entry(&follower, "api-server-external")["address"],
        "127.0.4.1"
    );
    assert_eq!(entry(&follower, "dns")["error"], "unsupported");

    // 3. `http` withdrawn: our leader deletes response_web and rewrites nothing else.
    let requests = driver.receive()["requests"].clone();
    assert!(requests.get("request_web").is_none(), "{requests}");
    let changes = answer(&requests, &mut our_bag);
    assert_eq!(
        changes,
        Bag::from([("response_web".to_string(), String::new())])
    );
    driver.send(json!({ "changes": changes }));
    let after = driver.receive();
    assert_eq!(
        after["report"]["all_responses"],
        json!(["api-server-external", "bad-cert", "conflict", "dns"])
    );
    assert_eq!(entry(&after, "api-server-external")["hash_matches"], true);
    assert_eq!(driver.receive()["done"], true);
}
