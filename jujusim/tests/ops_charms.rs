//! Unmodified Python ops charms under the simulator, as real processes, for two ops
//! generations: ops 2.23.2 (≤ 3.3: `--format=json` appended, YAML to relation-set, `-r <id>`)
//! and ops ≥ 3.8 (`--format=json` first, JSON to relation-set, `-r <endpoint>:<id>`).
//! Covers relations both ways, app and unit bags, peers, config, leadership, status, ports,
//! workload version, actions (success and `event.fail`), juju-log.

mod common;
use common::{ops_venv, TestModel};
use serde_json::Value;

fn deploy_pair(m: &TestModel, generation: &str) {
    let venv = ops_venv(generation);
    for name in ["opsprov", "opsreq"] {
        let charm = m.charm(name);
        std::fs::write(charm.join(".venv-path"), venv.display().to_string()).unwrap();
    }
    let prov = m.tmp.path().join("src/opsprov");
    let req = m.tmp.path().join("src/opsreq");
    m.ok(&["deploy", prov.to_str().unwrap(), "-n", "2"]);
    m.ok(&["deploy", req.to_str().unwrap()]);
    m.ok(&["relate", "opsreq", "opsprov"]);
}

fn run_ops_generation(generation: &str) {
    let m = TestModel::new(&format!("ops-{generation}"));
    deploy_pair(&m, generation);
    let a0 = m.address("opsprov/0");
    let a1 = m.address("opsprov/1");

    // Requirer read the provider's app bag (leader-written) and both unit bags.
    assert_eq!(
        m.own_bag("opsreq/0", "data")["seen"],
        format!("prov:opsprov/0=8080@{a0},opsprov/1=8080@{a1}")
    );
    assert_eq!(
        m.unit_status("opsreq/0"),
        ("active".to_string(), "got prov from 2 units".to_string())
    );
    // Provider: status, peers app bag from the leader, ports, workload version.
    assert_eq!(
        m.unit_status("opsprov/1"),
        (
            "active".to_string(),
            "port 8080 leader opsprov/0".to_string()
        )
    );
    let st = m.status();
    assert_eq!(
        st["applications"]["opsprov"]["units"]["opsprov/0"]["open-ports"],
        serde_json::json!(["8080/tcp"])
    );
    assert_eq!(st["applications"]["opsprov"]["version"], "1.2.3");
    // The provider sees the requirer's unit bag in its own view, both ways.
    let info = m.show_unit("opsprov/0");
    let rel = info["relation-info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["endpoint"] == "data")
        .unwrap()
        .clone();
    assert!(rel["related-units"]["opsreq/0"]["data"]["seen"]
        .as_str()
        .unwrap()
        .starts_with("prov:"));
    assert_eq!(rel["local-unit"]["data"]["port"], "8080");

    // Config flows: a new name reaches the requirer through the app bag.
    m.ok(&["config", "opsprov", "name=renamed", "port=9090"]);
    assert_eq!(
        m.unit_status("opsreq/0"),
        ("active".to_string(), "got renamed from 2 units".to_string())
    );
    assert!(m.own_bag("opsreq/0", "data")["seen"]
        .as_str()
        .unwrap()
        .contains("opsprov/1=9090"));
    let ports = m.status()["applications"]["opsprov"]["units"]["opsprov/1"]["open-ports"].clone();
    assert!(
        ports.as_array().unwrap().contains(&Value::from("9090/tcp")),
        "{ports}"
    );

    // Leadership moves: the new leader publishes in the peers app bag, the other peer hears it.
    m.ok(&["set-leader", "opsprov/1"]);
    assert_eq!(m.unit_status("opsprov/1").1, "port 9090 leader opsprov/1");
    assert_eq!(m.unit_status("opsprov/0").1, "port 9090 leader opsprov/1");

    // Actions: results with params defaulted from actions.yaml; event.fail fails the task.
    let out = m.ok(&["run", "opsprov/0", "greet", "who=bob", "--format=json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["opsprov/0"]["status"], "completed");
    assert_eq!(v["opsprov/0"]["results"]["greeting"], "hello bob");
    assert_eq!(v["opsprov/0"]["results"]["times"], "1");
    assert_eq!(v["opsprov/0"]["log"].as_array().unwrap().len(), 1);
    let out = m.cmd(&["run", "opsprov/leader", "fail-me", "--format=json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["opsprov/1"]["status"], "failed");
    assert_eq!(v["opsprov/1"]["message"], "deliberate failure");
    let (_, err) = m.fails(&["run", "opsprov/0", "greet", "times=many"]);
    assert!(err.contains("Invalid type"), "{err}");

    // ops logs through juju-log; the records reach debug-log.
    let log = m.ok(&["debug-log", "--include", "opsprov/0"]);
    assert!(
        log.contains("juju-log") && log.contains("data relation"),
        "{log}"
    );

    // Nothing failed along the way.
    for u in ["opsprov/0", "opsprov/1", "opsreq/0"] {
        assert_ne!(
            m.unit_status(u).0,
            "error",
            "{u}: {}",
            m.ok(&["debug-log", "--include", u])
        );
    }

    // Removing the relation breaks it on the requirer.
    m.ok(&["remove-relation", "opsreq", "opsprov"]);
    assert_eq!(
        m.unit_status("opsreq/0"),
        ("blocked".to_string(), "provider gone".to_string())
    );
}

#[test]
fn ops_2_23_charms_relate_configure_lead_and_run_actions() {
    run_ops_generation("old");
}

#[test]
fn ops_3_8_plus_charms_relate_configure_lead_and_run_actions() {
    run_ops_generation("new");
}
