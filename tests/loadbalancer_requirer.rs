//! End to end through `jujusim`: our charm and two `lb-requirer` units (ops + the real
//! `loadbalancer-interface` 1.2.1 from `.venv-lb`) related on `lb-consumers`. The requirer's
//! own library says each response is a success with our address and a matching hash; real
//! traffic through that address reaches both units; the error paths, a withdrawn request, a
//! second (non-leader) haproxy-lb unit, a leader change and a removed relation behave as
//! `spec/loadbalancer.md` says. Traffic goes only to the model's own namespace addresses.

mod sim;

use serde_json::{json, Value};
use sim::{wait_for, Model};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A copy of the requirer charm that finds the pinned venv (`make venv-lb`) through
/// `.venv-path`: the hook environment is fresh, so the charm cannot discover it itself.
fn requirer_charm(dir: &std::path::Path) -> PathBuf {
    let out = Command::new("make")
        .args(["-s", "venv-lb"])
        .current_dir(sim::root())
        .output()
        .expect("make must be installed");
    assert!(
        out.status.success(),
        "make venv-lb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let charm = dir.join("lb-requirer");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(sim::test_charm("lb-requirer"))
        .arg(&charm)
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::write(
        charm.join(".venv-path"),
        sim::root().join(".venv-lb").display().to_string(),
    )
    .unwrap();
    charm
}

/// What the requirer's library reads back (its `get-responses` action).
fn responses(model: &Model, unit: &str) -> Value {
    let out: Value =
        serde_json::from_str(&model.run(&["run", unit, "get-responses", "--format", "json"]))
            .unwrap();
    let task = out
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or_default();
    let text = task["results"]["responses"]
        .as_str()
        .unwrap_or_else(|| panic!("no responses in {out:#}"));
    serde_json::from_str(text).unwrap()
}

fn tcp_line(addr: SocketAddr, text: &str) -> Result<String, String> {
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| format!("{addr}: {e}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    conn.write_all(format!("{text}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(conn)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim_end().to_owned())
}

/// The units answering 12 connections through `addr` (a bounded loop).
fn units_answering(addr: SocketAddr) -> BTreeSet<String> {
    (0..12)
        .filter_map(|i| tcp_line(addr, &format!("hello {i}")).ok())
        .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

fn both() -> BTreeSet<String> {
    ["lb-requirer/0", "lb-requirer/1"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn port_closed(addr: SocketAddr) -> bool {
    wait_for(Duration::from_secs(10), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(300))
            .is_err()
            .then_some(())
    })
    .is_some()
}

#[test]
fn a_loadbalancer_requirer_gets_our_address_and_traffic_reaches_both_units() {
    let scratch = tempfile::tempdir().unwrap();
    let model = Model::new("loadbalancer_requirer");
    model.deploy_ours("haproxy-lb", 1, &[]);
    let req = requirer_charm(scratch.path());
    model.deploy(&req, "lb-requirer", 2, &[]);
    // One `config` call with every pair (jujusim's `deploy` keeps only the last `--config`).
    model.run(&[
        "config",
        "lb-requirer",
        "requests=kcp,http",
        "kcp_frontend_port=40443",
        "kcp_backend_port=46443",
        "http_frontend_port=40480",
        "http_backend_port=48080",
        "server_lifetime=900",
    ]);
    model.run(&[
        "relate",
        "haproxy-lb:lb-consumers",
        "lb-requirer:lb-provider",
    ]);
    let lb = model.address("haproxy-lb/0");

    // 1. The library's own reading: success, our address, the hash it sent.
    let report = responses(&model, "lb-requirer/leader");
    for name in ["api-server-external", "web"] {
        let e = &report["responses"][name];
        assert_eq!(e["success"], true, "{name}: {report:#}");
        assert_eq!(e["address"], lb.as_str(), "{name}: {e}");
        assert_eq!(e["hash_matches"], true, "{name}: {e}");
        assert_eq!(e["complete"], true, "{name}: {e}");
    }
    let follower = if report["leader"] == true {
        "lb-requirer/1"
    } else {
        "lb-requirer/0"
    };
    let seen_by_follower = responses(&model, follower);
    assert_eq!(
        seen_by_follower["responses"]["api-server-external"]["address"],
        lb.as_str()
    );

    // 2. Real traffic through the answered address reaches both units.
    let kcp: SocketAddr = format!("{lb}:40443").parse().unwrap();
    assert_eq!(
        units_answering(kcp),
        both(),
        "tcp through {kcp}\n{}",
        model.haproxy_cfg("haproxy-lb/0")
    );
    let mut http_units = BTreeSet::new();
    for _ in 0..12 {
        let (status, body) = sim::http_get(&lb, 40480, "/x", Duration::from_secs(5)).unwrap();
        assert_eq!(status, 200, "{body}");
        http_units.insert(body.split_whitespace().next().unwrap_or("").to_owned());
    }
    assert_eq!(http_units, both());
    let ports = model.open_ports("haproxy-lb/0");
    assert!(
        ports.contains(&"40443/tcp".to_string()) && ports.contains(&"40480/tcp".to_string()),
        "{ports:?}"
    );

    // 3. Error paths, read by the library without raising; the status names the rejected.
    model.run(&[
        "config",
        "lb-requirer",
        "requests=kcp,http,bad-protocol,udp,conflict,bad-cert",
        "udp_port=40453",
        "bad_cert_port=40444",
    ]);
    let report = responses(&model, "lb-requirer/leader");
    assert!(
        report.get("all_responses_exception").is_none(),
        "{report:#}"
    );
    let r = &report["responses"];
    assert_eq!(r["bad-protocol"]["present"], false, "{report:#}");
    assert_eq!(r["dns"]["error"], "unsupported", "{report:#}");
    assert_eq!(
        r["dns"]["error_fields"],
        json!({"protocol": "udp is not supported"})
    );
    assert_eq!(r["conflict"]["error"], "provider_error");
    assert_eq!(
        r["conflict"]["error_message"],
        "frontend port 40443 is already in use"
    );
    assert_eq!(r["bad-cert"]["error"], "unsupported");
    assert!(
        r["bad-cert"]["error_fields"].get("tls_cert").is_some(),
        "{report:#}"
    );
    for name in ["dns", "conflict", "bad-cert"] {
        assert_eq!(r[name]["hash_matches"], true, "{name}: {report:#}");
    }
    let (_, message) = model.workload("haproxy-lb/0");
    assert!(
        message.contains("bad-protocol") && message.contains("dns"),
        "status: {message}"
    );

    // 4. `http` withdrawn: its response is deleted, its frontend and port go.
    model.run(&["config", "lb-requirer", "requests=kcp"]);
    let report = responses(&model, "lb-requirer/leader");
    assert_eq!(
        report["all_responses"],
        json!(["api-server-external"]),
        "{report:#}"
    );
    let web: SocketAddr = format!("{lb}:40480").parse().unwrap();
    assert!(port_closed(web), "{web} still open");
    assert!(!model
        .open_ports("haproxy-lb/0")
        .contains(&"40480/tcp".to_string()));

    // 5. A second haproxy-lb unit (not the leader) serves the same requests.
    model.run(&["add-unit", "haproxy-lb"]);
    let second = model.address("haproxy-lb/1");
    assert_eq!(
        units_answering(format!("{second}:40443").parse().unwrap()),
        both()
    );
    // Leadership moves: the new leader answers (its own address), acknowledged by hash.
    model.run(&["set-leader", "haproxy-lb/1"]);
    let report = responses(&model, "lb-requirer/leader");
    let e = &report["responses"]["api-server-external"];
    assert_eq!(e["success"], true, "{e}");
    assert_eq!(e["hash_matches"], true, "{e}");
    assert_eq!(e["address"], second.as_str(), "{e}");

    // 6. The relation removed: its frontends go on every unit.
    model.run(&[
        "remove-relation",
        "haproxy-lb:lb-consumers",
        "lb-requirer:lb-provider",
    ]);
    assert!(port_closed(kcp), "{kcp} still open after remove-relation");
    assert!(port_closed(format!("{second}:40443").parse().unwrap()));
}
