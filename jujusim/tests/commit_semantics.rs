//! Commit rules of spec §1.5 and §6.5: buffered changes (relation data, ports, charm state)
//! commit only on exit 0; status-set is immediate and survives a failed hook; the unit goes to
//! `error` with Juju's message; `resolve` retries the hook.

mod common;
use common::TestModel;

#[test]
fn failed_hook_discards_relation_data_keeps_status_and_resolve_retries() {
    let m = TestModel::new("commit-fail");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back"]);
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    let before = m.own_bag("back/0", "http-in");
    assert_eq!(
        before["private-address"],
        m.address("back/0"),
        "seeded on entering scope"
    );

    m.script(
        "back/0",
        "update-status",
        "relation-set -r \"$(relation-ids http-in)\" written=yes\nopen-port 9999/tcp\nstatus-set maintenance 'about to fail'\nexit 1\n",
    );
    m.clear_hooks();
    m.ok(&["fire", "back/0", "update-status"]);
    assert_eq!(
        m.own_bag("back/0", "http-in"),
        before,
        "relation-set of a failed hook is discarded"
    );
    assert_eq!(
        m.unit_status("back/0"),
        (
            "error".to_string(),
            "hook failed: \"update-status\"".to_string()
        )
    );
    let st = m.status();
    assert!(st["applications"]["back"]["units"]["back/0"]
        .get("open-ports")
        .is_none());
    // Nobody heard of the discarded write.
    assert_eq!(m.hooks(), vec!["back/0 update-status".to_string()]);
    // status-set was applied at once: it is what the unit shows once the error clears.
    m.remove_script("back/0", "update-status");
    m.script(
        "back/0",
        "update-status",
        "relation-set -r \"$(relation-ids http-in)\" written=yes\n",
    );
    m.clear_hooks();
    m.ok(&["resolve", "back/0"]);
    assert_eq!(m.own_bag("back/0", "http-in")["written"], "yes");
    assert_eq!(
        m.unit_status("back/0"),
        ("maintenance".to_string(), "about to fail".to_string())
    );
    assert_eq!(
        m.hooks(),
        vec![
            "back/0 update-status".to_string(),
            "front/0 http-out-relation-changed back/0".to_string()
        ]
    );
    let (_, err) = m.fails(&["resolve", "back/0"]);
    assert!(err.contains("not in an error state"), "{err}");
}

#[test]
fn hooks_queued_behind_an_error_wait_for_resolve() {
    let m = TestModel::new("commit-block");
    let charm = m.charm("hooklog");
    std::fs::write(charm.join("script-install"), "exit 3\n").unwrap();
    m.ok(&["deploy", charm.to_str().unwrap()]);
    assert_eq!(m.hooks_of("hooklog/0"), vec!["install".to_string()]);
    assert_eq!(m.unit_status("hooklog/0").1, "hook failed: \"install\"");
    std::fs::remove_file(m.unit_charm_dir("hooklog/0").join("script-install")).unwrap();
    m.ok(&["resolve", "hooklog/0"]);
    assert_eq!(
        m.hooks_of("hooklog/0"),
        [
            "install",
            "install",
            "cluster-relation-created",
            "leader-elected",
            "config-changed",
            "start"
        ]
    );
    assert_eq!(m.unit_status("hooklog/0").0, "unknown");
}

#[test]
fn actions_report_results_failures_and_output() {
    let m = TestModel::new("commit-action");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap()]);
    m.script(
        "hooklog/0",
        "echo",
        "action-set said=\"$(action-get msg)\"\necho out-text\n",
    );
    let out = m.ok(&["run", "hooklog/0", "echo", "--format=json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let task = &v["hooklog/0"];
    assert_eq!(task["status"], "completed");
    assert_eq!(task["results"]["return-code"], 0);
    assert_eq!(task["results"]["stdout"], "out-text\n");
    assert!(
        task["results"]["said"].as_str().unwrap().contains("hello"),
        "{task}"
    );
    // Unknown params are refused before anything runs (additionalProperties: false).
    let (_, err) = m.fails(&["run", "hooklog/0", "echo", "nope=1"]);
    assert!(
        err.contains("Additional property nope is not allowed"),
        "{err}"
    );
    // A non-zero exit fails the task with "exit status N".
    m.script("hooklog/0", "echo", "exit 4\n");
    let out = m.cmd(&["run", "hooklog/0", "echo", "--format=json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hooklog/0"]["status"], "failed");
    assert_eq!(v["hooklog/0"]["message"], "exit status 4");
    let (_, err) = m.fails(&["run", "hooklog/0", "missing-action"]);
    assert!(err.contains("not defined"), "{err}");
    // --params: a YAML file; arguments override it.
    m.script(
        "hooklog/0",
        "echo",
        "action-set said=\"$(action-get msg)\"\n",
    );
    let file = m.tmp.path().join("params.yaml");
    std::fs::write(&file, "msg: from-file\n").unwrap();
    let out = m.ok(&[
        "run",
        "hooklog/0",
        "echo",
        "--params",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out, "said: from-file\n");
    let out = m.ok(&[
        "run",
        "hooklog/0",
        "echo",
        "--params",
        file.to_str().unwrap(),
        "msg=arg",
    ]);
    assert_eq!(out, "said: arg\n");
}

#[test]
fn status_history_records_workload_and_agent_changes() {
    let m = TestModel::new("commit-history");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap()]);
    m.script("hooklog/0", "update-status", "status-set active ready\n");
    m.ok(&["fire", "hooklog/0", "update-status"]);
    let log = m.ok(&["show-status-log", "hooklog/0"]);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("Time"), "{log}");
    assert!(log.contains("installing charm software"), "{log}");
    assert!(log.contains("running update-status hook"), "{log}");
    let active = lines
        .iter()
        .find(|l| l.contains("workload") && l.contains("active"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(active.ends_with("ready"), "{log}");
    assert!(lines.last().unwrap().contains("idle"), "{log}");
}

#[test]
fn a_hook_the_agent_cannot_start_fails_the_unit_instead_of_the_command() {
    let m = TestModel::new("commit-nostart");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap()]);
    let meta = m.unit_charm_dir("hooklog/0").join("metadata.yaml");
    let good = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, "name: [unclosed\n").unwrap();
    m.ok(&["fire", "hooklog/0", "update-status"]);
    assert_eq!(
        m.unit_status("hooklog/0"),
        (
            "error".to_string(),
            "hook failed: \"update-status\"".to_string()
        )
    );
    let log = m.ok(&["debug-log", "--level", "ERROR"]);
    assert!(log.contains("metadata.yaml"), "{log}");
    std::fs::write(&meta, good).unwrap();
    m.clear_hooks();
    m.ok(&["resolve", "hooklog/0"]);
    assert_eq!(m.hooks(), vec!["hooklog/0 update-status".to_string()]);
}
