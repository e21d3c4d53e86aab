//! Relation data semantics of spec §6 that depend on the model, not on one tool: seeded
//! address keys (§6.4), the stable view of remote unit data (§6.5 item 4), data readable after
//! departure (§6.3), leader settings (§6.5 item 5).

mod common;
use common::TestModel;

fn read(m: &TestModel, unit: &str, file: &str) -> String {
    std::fs::read_to_string(m.unit_charm_dir(unit).join(file)).unwrap_or_default()
}

#[test]
fn remote_unit_data_is_refreshed_only_when_its_changed_hook_is_delivered() {
    let m = TestModel::new("data-snapshot");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "-n", "2"]);
    m.script(
        "hooklog/0",
        "update-status",
        "relation-set -r \"$(relation-ids cluster)\" k=1\n",
    );
    m.ok(&["fire", "hooklog/0", "update-status"]);
    // One config change queues config-changed on hooklog/0 then hooklog/1. hooklog/0 writes
    // k=2; hooklog/1's config-changed runs before the -changed that delivers it.
    m.script(
        "hooklog/0",
        "config-changed",
        "relation-set -r \"$(relation-ids cluster)\" k=2\n",
    );
    let read_k = "echo \"$JUJU_HOOK_NAME $(relation-get -r \"$(relation-ids cluster)\" k hooklog/0)\" >> \"$JUJU_CHARM_DIR/seen\"\n";
    m.script("hooklog/1", "config-changed", read_k);
    m.script("hooklog/1", "cluster-relation-changed", read_k);
    m.ok(&["config", "hooklog", "greeting=changed"]);
    assert_eq!(
        read(&m, "hooklog/1", "seen"),
        "config-changed 1\ncluster-relation-changed 2\n"
    );
}

#[test]
fn seeded_addresses_and_departed_units_data_stay_readable() {
    let m = TestModel::new("data-departed");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back", "-n", "2"]);
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    let a1 = m.address("back/1");
    let info = m.show_unit("front/0");
    let rel = info["relation-info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["endpoint"] == "http-out")
        .unwrap()
        .clone();
    let bag = rel["related-units"]["back/1"]["data"].clone();
    assert_eq!(bag["private-address"], a1);
    assert_eq!(bag["ingress-address"], a1);
    assert_eq!(bag["egress-subnets"], format!("{a1}/32"));
    // After back/1 departs, front/0 can still read its bag by name, and relation-list drops it.
    m.script(
        "front/0",
        "http-out-relation-departed",
        "relation-get --format=json - \"$JUJU_DEPARTING_UNIT\" > \"$JUJU_CHARM_DIR/departed.json\"\nrelation-list --format=json > \"$JUJU_CHARM_DIR/members.json\"\n",
    );
    m.ok(&["remove-unit", "back/1"]);
    let departed: serde_json::Value =
        serde_json::from_str(&read(&m, "front/0", "departed.json")).unwrap();
    assert_eq!(departed["private-address"], a1);
    assert_eq!(read(&m, "front/0", "members.json"), "[\"back/0\"]\n");
}

#[test]
fn leader_set_reaches_the_other_units_with_leader_settings_changed() {
    let m = TestModel::new("data-leader");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "-n", "2"]);
    m.script("hooklog/0", "update-status", "leader-set token=abc\n");
    m.script(
        "hooklog/1",
        "leader-settings-changed",
        "leader-get token > \"$JUJU_CHARM_DIR/token\"\n",
    );
    m.clear_hooks();
    m.ok(&["fire", "hooklog/0", "update-status"]);
    assert_eq!(
        m.hooks(),
        vec![
            "hooklog/0 update-status".to_string(),
            "hooklog/1 leader-settings-changed".to_string()
        ]
    );
    assert_eq!(read(&m, "hooklog/1", "token"), "abc\n");
    // A non-leader cannot.
    m.script(
        "hooklog/1",
        "update-status",
        "leader-set token=x 2> \"$JUJU_CHARM_DIR/err\" || true\n",
    );
    m.ok(&["fire", "hooklog/1", "update-status"]);
    assert_eq!(
        read(&m, "hooklog/1", "err"),
        "ERROR cannot write leadership settings: cannot write settings: not the leader\n"
    );
}
