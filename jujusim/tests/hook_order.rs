//! Hook order for each CLI command (spec §2), asserted from the sequence the `hooklog` charm
//! records (its `dispatch` logs `$JUJU_DISPATCH_PATH` and the relation variables).

mod common;
use common::TestModel;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn deploy_runs_install_created_leadership_config_start_then_peer_joins() {
    let m = TestModel::new("order-deploy");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "-n", "2"]);
    assert_eq!(
        m.hooks_of("hooklog/0"),
        s(&[
            "install",
            "cluster-relation-created",
            "leader-elected",
            "config-changed",
            "start",
            "cluster-relation-joined hooklog/1",
            "cluster-relation-changed hooklog/1",
        ])
    );
    assert_eq!(
        m.hooks_of("hooklog/1"),
        s(&[
            "install",
            "cluster-relation-created",
            "leader-settings-changed",
            "config-changed",
            "start",
            "cluster-relation-joined hooklog/0",
            "cluster-relation-changed hooklog/0",
        ])
    );
}

#[test]
fn relate_runs_created_on_both_sides_then_joined_changed_per_remote_unit() {
    let m = TestModel::new("order-relate");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front", "-n", "2"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back"]);
    m.clear_hooks();
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    assert_eq!(
        m.hooks_of("back/0"),
        s(&[
            "http-in-relation-created",
            "http-in-relation-joined front/0",
            "http-in-relation-changed front/0",
            "http-in-relation-joined front/1",
            "http-in-relation-changed front/1",
        ])
    );
    for u in ["front/0", "front/1"] {
        assert_eq!(
            m.hooks_of(u),
            s(&[
                "http-out-relation-created",
                "http-out-relation-joined back/0",
                "http-out-relation-changed back/0",
            ]),
            "{u}"
        );
    }
    // Ambiguity and interface checks come from metadata.yaml.
    let (code, err) = m.fails(&["relate", "front", "back"]);
    assert_eq!(code, 1);
    assert!(err.contains("ambiguous relation"), "{err}");
    let (_, err) = m.fails(&["relate", "front:cluster", "back:http-in"]);
    assert!(err.contains("no relations found"), "{err}");
}

#[test]
fn data_change_fires_changed_on_every_reader_but_never_the_writer() {
    let m = TestModel::new("order-change");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front", "-n", "2"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back"]);
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    m.clear_hooks();
    // back/0 writes its unit bag (and, as leader, its app bag) in update-status.
    m.script("back/0", "update-status", "relation-set -r \"$(relation-ids http-in | head -1)\" k=v\nrelation-set --app -r \"$(relation-ids http-in | head -1)\" a=b\n");
    m.ok(&["fire", "back/0", "update-status"]);
    assert_eq!(m.hooks_of("back/0"), s(&["update-status"]));
    for u in ["front/0", "front/1"] {
        let hooks = m.hooks_of(u);
        assert!(
            hooks.contains(&"http-out-relation-changed back/0".to_string()),
            "{u}: {hooks:?}"
        );
        // The app-bag change arrives with an empty JUJU_REMOTE_UNIT.
        assert!(
            hooks.contains(&"http-out-relation-changed".to_string()),
            "{u}: {hooks:?}"
        );
        assert_eq!(hooks.len(), 2, "{u}: {hooks:?}");
    }
    // A write that changes nothing fires nothing.
    m.clear_hooks();
    m.ok(&["fire", "back/0", "update-status"]);
    assert_eq!(m.hooks(), s(&["back/0 update-status"]));
}

#[test]
fn add_unit_and_remove_unit_join_and_depart_on_every_side() {
    let m = TestModel::new("order-scale");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back"]);
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    m.clear_hooks();
    m.ok(&["add-unit", "back"]);
    assert_eq!(
        m.hooks_of("back/1"),
        s(&[
            "install",
            "cluster-relation-created",
            "http-in-relation-created",
            "leader-settings-changed",
            "config-changed",
            "start",
            "cluster-relation-joined back/0",
            "cluster-relation-changed back/0",
            "http-in-relation-joined front/0",
            "http-in-relation-changed front/0",
        ])
    );
    assert_eq!(
        m.hooks_of("front/0"),
        s(&[
            "http-out-relation-joined back/1",
            "http-out-relation-changed back/1"
        ])
    );
    assert_eq!(
        m.hooks_of("back/0"),
        s(&[
            "cluster-relation-joined back/1",
            "cluster-relation-changed back/1"
        ])
    );

    m.clear_hooks();
    m.ok(&["remove-unit", "back/1"]);
    assert_eq!(
        m.hooks_of("back/1"),
        s(&[
            "cluster-relation-departed back/0 departing=back/1",
            "http-in-relation-departed front/0 departing=back/1",
            "http-in-relation-broken",
            "stop",
            "remove",
        ])
    );
    assert_eq!(
        m.hooks_of("front/0"),
        s(&["http-out-relation-departed back/1 departing=back/1"])
    );
    assert_eq!(
        m.hooks_of("back/0"),
        s(&["cluster-relation-departed back/1 departing=back/1"])
    );
    assert!(m.status()["applications"]["back"]["units"]
        .get("back/1")
        .is_none());
}

#[test]
fn remove_relation_departs_each_remote_unit_then_breaks() {
    let m = TestModel::new("order-unrelate");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front", "-n", "2"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back"]);
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    m.clear_hooks();
    m.ok(&["remove-relation", "front", "back"]);
    assert_eq!(
        m.hooks_of("back/0"),
        s(&[
            "http-in-relation-departed front/0 departing=front/0",
            "http-in-relation-departed front/1 departing=front/1",
            "http-in-relation-broken",
        ])
    );
    assert_eq!(
        m.hooks_of("front/1"),
        s(&[
            "http-out-relation-departed back/0 departing=back/0",
            "http-out-relation-broken"
        ])
    );
    assert_eq!(
        m.status()["relations"].as_array().unwrap().len(),
        2,
        "only the peers remain"
    );
}

#[test]
fn remove_application_tears_down_relations_then_stops_and_removes() {
    let m = TestModel::new("order-rmapp");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back"]);
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    m.clear_hooks();
    m.ok(&["remove-application", "back"]);
    assert_eq!(
        m.hooks_of("back/0"),
        s(&[
            "http-in-relation-departed front/0 departing=back/0",
            "http-in-relation-broken",
            "stop",
            "remove",
        ])
    );
    assert_eq!(
        m.hooks_of("front/0"),
        s(&[
            "http-out-relation-departed back/0 departing=back/0",
            "http-out-relation-broken"
        ])
    );
    assert!(m.status()["applications"].get("back").is_none());
}

#[test]
fn config_change_fires_config_changed_only_when_a_value_changes() {
    let m = TestModel::new("order-config");
    let charm = m.charm("hooklog");
    m.ok(&[
        "deploy",
        charm.to_str().unwrap(),
        "-n",
        "2",
        "--config",
        "count=3",
    ]);
    assert_eq!(m.ok(&["config", "hooklog", "count"]), "3\n");
    m.clear_hooks();
    m.ok(&["config", "hooklog", "greeting=hello", "ratio=0.5"]);
    assert_eq!(
        m.hooks(),
        s(&["hooklog/0 config-changed", "hooklog/1 config-changed"])
    );
    m.clear_hooks();
    m.ok(&["config", "hooklog", "greeting=hello"]);
    assert!(m.hooks().is_empty());
    let (_, err) = m.fails(&["config", "hooklog", "count=many"]);
    assert_eq!(err, "ERROR option \"count\" expected int, got \"many\"\n");
    let (_, err) = m.fails(&["config", "hooklog", "nope=1"]);
    assert_eq!(err, "ERROR unknown option \"nope\"\n");
    let yaml = m.ok(&["config", "hooklog"]);
    assert!(
        yaml.contains("greeting:") && yaml.contains("source: user"),
        "{yaml}"
    );
    // config-get in a hook sees the typed values.
    m.script(
        "hooklog/0",
        "update-status",
        "config-get --format=json > \"$JUJU_CHARM_DIR/config.json\"\n",
    );
    m.ok(&["fire", "hooklog/0", "update-status"]);
    let cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(m.unit_charm_dir("hooklog/0").join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["count"], 3);
    assert_eq!(cfg["ratio"], 0.5);
    assert_eq!(cfg["enabled"], false);
}

#[test]
fn upgrade_charm_is_followed_by_config_changed() {
    let m = TestModel::new("order-upgrade");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap()]);
    m.clear_hooks();
    std::fs::write(charm.join("NEW"), "2").unwrap();
    m.ok(&["upgrade-charm", "hooklog", charm.to_str().unwrap()]);
    assert_eq!(
        m.hooks(),
        s(&["hooklog/0 upgrade-charm", "hooklog/0 config-changed"])
    );
    assert!(m.unit_charm_dir("hooklog/0").join("NEW").exists());
}

#[test]
fn set_leader_fires_leader_elected_and_settings_changed_on_the_others() {
    let m = TestModel::new("order-leader");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "-n", "3"]);
    m.clear_hooks();
    m.ok(&["set-leader", "hooklog/2"]);
    assert_eq!(m.hooks_of("hooklog/2"), s(&["leader-elected"]));
    assert_eq!(m.hooks_of("hooklog/0"), s(&["leader-settings-changed"]));
    assert_eq!(m.hooks_of("hooklog/1"), s(&["leader-settings-changed"]));
    assert_eq!(
        m.status()["applications"]["hooklog"]["units"]["hooklog/2"]["leader"],
        true
    );
    // Removing the leader moves leadership to the next unit.
    m.clear_hooks();
    m.ok(&["remove-unit", "hooklog/2"]);
    assert!(m
        .hooks_of("hooklog/0")
        .contains(&"leader-elected".to_string()));
}

#[test]
fn update_status_runs_on_demand() {
    let m = TestModel::new("order-fire");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap()]);
    m.clear_hooks();
    m.ok(&["fire", "hooklog/0", "update-status"]);
    assert_eq!(m.hooks(), s(&["hooklog/0 update-status"]));
}

#[test]
fn settle_stops_a_hook_loop_with_a_clear_error() {
    let m = TestModel::new("order-loop");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "-n", "2"]);
    // Each peer -changed writes a new value, which fires -changed on the other: forever.
    for u in ["hooklog/0", "hooklog/1"] {
        m.script(
            u,
            "cluster-relation-changed",
            "relation-set n=$(date +%s%N)\n",
        );
    }
    m.script(
        "hooklog/0",
        "update-status",
        "relation-set -r \"$(relation-ids cluster)\" n=start\n",
    );
    let out = m.cmd_env(
        &["fire", "hooklog/0", "update-status"],
        &[("JUJUSIM_SETTLE_LIMIT", "60")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("charms may be looping"), "{err}");
}

#[test]
fn subordinates_live_on_their_principals_machine_and_go_with_the_relation() {
    let m = TestModel::new("order-sub");
    let charm = m.charm("hooklog");
    let sub = m.charm("hooklog-sub");
    m.ok(&["deploy", charm.to_str().unwrap(), "front", "-n", "2"]);
    m.ok(&["deploy", sub.to_str().unwrap(), "sub"]);
    m.clear_hooks();
    m.ok(&["relate", "sub", "front"]);
    assert_eq!(
        m.hooks_of("sub/0"),
        s(&[
            "install",
            "host-relation-created",
            "leader-elected",
            "config-changed",
            "start",
            "host-relation-joined front/0",
            "host-relation-changed front/0",
        ])
    );
    // Container scope: each principal sees only the subordinate on its own machine.
    assert_eq!(
        m.hooks_of("front/1"),
        s(&[
            "juju-info-relation-created",
            "juju-info-relation-joined sub/1",
            "juju-info-relation-changed sub/1",
        ])
    );
    let st = m.status();
    let subs = &st["applications"]["front"]["units"]["front/1"]["subordinates"];
    assert_eq!(subs["sub/1"]["public-address"], m.address("front/1"));
    assert_eq!(
        st["applications"]["sub"]["subordinate-to"],
        serde_json::json!(["front"])
    );

    // A new principal unit brings its subordinate; removing it takes the subordinate along.
    m.clear_hooks();
    m.ok(&["add-unit", "front"]);
    assert_eq!(m.hooks_of("sub/2")[0], "install");
    assert!(m
        .hooks_of("sub/2")
        .contains(&"host-relation-joined front/2".to_string()));
    m.clear_hooks();
    m.ok(&["remove-unit", "front/2"]);
    assert_eq!(
        m.hooks_of("sub/2"),
        s(&[
            "host-relation-departed front/2 departing=sub/2",
            "host-relation-broken",
            "stop",
            "remove",
        ])
    );
    assert_eq!(
        m.hooks_of("front/2").last().map(String::as_str),
        Some("remove")
    );
    assert!(m.status()["applications"]["front"]["units"]
        .get("front/2")
        .is_none());

    m.clear_hooks();
    m.ok(&["remove-relation", "sub", "front"]);
    assert_eq!(
        m.hooks_of("sub/0"),
        s(&[
            "host-relation-departed front/0 departing=sub/0",
            "host-relation-broken",
            "stop",
            "remove",
        ])
    );
    assert_eq!(
        m.hooks_of("front/0"),
        s(&[
            "juju-info-relation-departed sub/0 departing=sub/0",
            "juju-info-relation-broken"
        ])
    );
    let st = m.status();
    assert!(st["applications"]["front"]["units"]["front/0"]
        .get("subordinates")
        .is_none());
}

#[test]
fn a_hook_over_the_time_limit_is_killed_and_fails() {
    let m = TestModel::new("order-timeout");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap()]);
    m.script("hooklog/0", "update-status", "sleep 30\n");
    let start = std::time::Instant::now();
    let out = m.cmd_env(
        &["fire", "hooklog/0", "update-status"],
        &[("JUJUSIM_HOOK_TIMEOUT", "1")],
    );
    assert!(out.status.success());
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(
        m.unit_status("hooklog/0").1,
        "hook failed: \"update-status\""
    );
    let log = m.ok(&["debug-log", "--level", "ERROR"]);
    assert!(log.contains("time limit"), "{log}");
}
