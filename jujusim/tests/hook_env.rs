//! The process a hook runs as (spec §1.2, §1.3): a fresh environment built from §1.3 only,
//! cwd the charm directory, stdin /dev/null, the tools first on PATH, JUJU_VERSION overridable.

mod common;
use common::TestModel;
use std::collections::BTreeMap;

fn env_of(m: &TestModel, unit: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(m.unit_charm_dir(unit).join("env")).unwrap();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_hook_gets_exactly_the_juju_environment() {
    let m = TestModel::new("env-hook");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap(), "front"]);
    m.ok(&["deploy", charm.to_str().unwrap(), "back"]);
    m.ok(&["relate", "front:http-out", "back:http-in"]);
    let dump = "env > \"$JUJU_CHARM_DIR/env\"\npwd > \"$JUJU_CHARM_DIR/cwd\"\nreadlink /proc/self/fd/0 > \"$JUJU_CHARM_DIR/stdin\"\n";
    m.script("back/0", "http-in-relation-changed", dump);
    m.script(
        "front/0",
        "update-status",
        "relation-set -r \"$(relation-ids http-out)\" x=1\n",
    );
    let out = m.cmd_env(
        &["fire", "front/0", "update-status"],
        &[("HOME", "/root"), ("SECRET_FROM_CALLER", "x")],
    );
    assert!(out.status.success());
    let env = env_of(&m, "back/0");
    let charm_dir = m.unit_charm_dir("back/0").canonicalize().unwrap();
    assert_eq!(env["JUJU_CHARM_DIR"], charm_dir.display().to_string());
    assert_eq!(env["CHARM_DIR"], env["JUJU_CHARM_DIR"]);
    assert_eq!(env["JUJU_UNIT_NAME"], "back/0");
    assert_eq!(env["JUJU_HOOK_NAME"], "http-in-relation-changed");
    assert_eq!(env["JUJU_DISPATCH_PATH"], "hooks/http-in-relation-changed");
    assert_eq!(env["JUJU_RELATION"], "http-in");
    assert!(env["JUJU_RELATION_ID"].starts_with("http-in:"));
    assert_eq!(env["JUJU_REMOTE_UNIT"], "front/0");
    assert_eq!(env["JUJU_REMOTE_APP"], "front");
    assert_eq!(env["JUJU_VERSION"], "3.6.8");
    assert_eq!(env["JUJU_MODEL_NAME"], "env-hook");
    assert_eq!(env["JUJU_AGENT_SOCKET_NETWORK"], "unix");
    assert!(env["JUJU_CONTEXT_ID"].starts_with("back/0-http-in-relation-changed-"));
    assert_eq!(env["LANG"], "C.UTF-8");
    assert_eq!(env["TERM"], "tmux-256color");
    assert_eq!(env["DEBIAN_FRONTEND"], "noninteractive");
    for always in [
        "JUJU_PRINCIPAL_UNIT",
        "JUJU_AVAILABILITY_ZONE",
        "CLOUD_API_VERSION",
        "JUJU_CHARM_HTTP_PROXY",
    ] {
        assert!(
            env.contains_key(always),
            "{always} must be exported even when empty"
        );
    }
    let tools = m.root.join("tools").display().to_string();
    assert!(
        env["PATH"].starts_with(&format!("{tools}:")),
        "{}",
        env["PATH"]
    );
    for absent in [
        "HOME",
        "USER",
        "LOGNAME",
        "SECRET_FROM_CALLER",
        "OPERATOR_DISPATCH",
        "JUJU_ACTION_NAME",
        "JUJU_DEPARTING_UNIT",
    ] {
        assert!(
            !env.contains_key(absent),
            "{absent} leaked into the hook environment"
        );
    }
    let cwd = std::fs::read_to_string(m.unit_charm_dir("back/0").join("cwd")).unwrap();
    assert_eq!(cwd.trim(), charm_dir.display().to_string());
    let stdin = std::fs::read_to_string(m.unit_charm_dir("back/0").join("stdin")).unwrap();
    assert_eq!(stdin.trim(), "/dev/null");
}

#[test]
fn actions_get_action_variables_and_no_hook_name() {
    let m = TestModel::new("env-action");
    let charm = m.charm("hooklog");
    m.ok(&["deploy", charm.to_str().unwrap()]);
    m.script("hooklog/0", "echo", "env > \"$JUJU_CHARM_DIR/env\"\n");
    let out = m.cmd_env(
        &["run", "hooklog/0", "echo"],
        &[("JUJUSIM_JUJU_VERSION", "3.5.4")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = env_of(&m, "hooklog/0");
    assert_eq!(env["JUJU_HOOK_NAME"], "");
    assert_eq!(env["JUJU_DISPATCH_PATH"], "actions/echo");
    assert_eq!(env["JUJU_ACTION_NAME"], "echo");
    let id = &env["JUJU_ACTION_UUID"];
    assert!(
        id.parse::<u64>().is_ok(),
        "Juju 3 action ids are integers: {id}"
    );
    assert_eq!(env["JUJU_ACTION_TAG"], format!("action-{id}"));
    assert_eq!(env["JUJU_VERSION"], "3.5.4");
    assert!(!env.contains_key("JUJU_RELATION"));
}

#[test]
fn a_tool_outside_a_hook_says_so_like_jujuc() {
    let m = TestModel::new("env-client");
    let out = std::process::Command::new(m.root.join("tools/relation-get"))
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("tools dir not populated: {e}"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR JUJU_CONTEXT_ID not set\n"
    );
}

#[test]
fn without_dispatch_hooks_and_actions_fall_back_to_their_scripts() {
    let m = TestModel::new("env-explicit");
    let charm = m.tmp.path().join("explicit");
    std::fs::create_dir_all(charm.join("hooks")).unwrap();
    std::fs::create_dir_all(charm.join("actions")).unwrap();
    std::fs::write(charm.join("metadata.yaml"), "name: explicit\n").unwrap();
    std::fs::write(charm.join("actions.yaml"), "go: {}\nmissing: {}\n").unwrap();
    let script = "#!/bin/sh\necho \"$0 $JUJU_DISPATCH_PATH\" >> \"$JUJU_CHARM_DIR/ran\"\n";
    for path in ["hooks/install", "hooks/start", "actions/go"] {
        std::fs::write(charm.join(path), script).unwrap();
        let mut perm = std::fs::metadata(charm.join(path)).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(charm.join(path), perm).unwrap();
    }
    m.ok(&["deploy", charm.to_str().unwrap()]);
    // Missing hooks (leader-elected, config-changed) are skipped silently, as success.
    let dir = m.unit_charm_dir("explicit/0").canonicalize().unwrap();
    let ran = std::fs::read_to_string(dir.join("ran")).unwrap();
    assert_eq!(
        ran,
        format!(
            "{0}/hooks/install hooks/install\n{0}/hooks/start hooks/start\n",
            dir.display()
        )
    );
    assert_eq!(m.unit_status("explicit/0").0, "unknown");
    m.ok(&["run", "explicit/0", "go"]);
    let out = m.cmd(&["run", "explicit/0", "missing", "--format=json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["explicit/0"]["message"],
        "action not implemented on unit \"explicit/0\""
    );
}
