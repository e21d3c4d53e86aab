//! The built binary as Juju runs it (spec §1.1, §1.2): the hook or action comes from
//! `JUJU_DISPATCH_PATH`, else from argv[0] (a `hooks/<name> -> ../dispatch` symlink); outside
//! Juju only `--version` and `--help` work and anything else exits 2 with the usage.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use support::Recorder;

const BIN: &str = env!("CARGO_BIN_EXE_haproxy-lb");

fn juju_env(recorder: &Recorder, charm_dir: &Path) -> BTreeMap<String, String> {
    [
        ("JUJU_UNIT_NAME", "haproxy-lb/0".to_owned()),
        ("JUJU_MODEL_NAME", "test".to_owned()),
        (
            "JUJU_MODEL_UUID",
            "2b3c4d5e-0f1a-4b2c-8d3e-4f5a6b7c8d9e".to_owned(),
        ),
        ("JUJU_CHARM_DIR", charm_dir.display().to_string()),
        ("JUJU_VERSION", "3.6.8".to_owned()),
        ("JUJU_MACHINE_ID", "0".to_owned()),
        ("JUJU_AVAILABILITY_ZONE", String::new()),
        ("DEBIAN_FRONTEND", "noninteractive".to_owned()),
        // Like Juju: the tools dir first, then the agent's PATH (spec §1.2).
        (
            "PATH",
            format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", recorder.bin_str()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Paths the charm writes on its machine. A hook now runs the whole reconcile (it writes
/// `/etc/haproxy/haproxy.cfg` and starts HAProxy), so each run gets a machine of its own: these
/// paths on private tmpfs mounts, its own network namespace, and its own PID namespace, whose
/// end kills any HAProxy the hook started. Nothing touches the host's HAProxy files or ports.
const MACHINE_DIRS: &str = "/etc/haproxy /run /var/lib/haproxy /var/lib/haproxy-lb /var/log";

/// What a real model answers for a unit with default config and no relations.
fn answer_like_an_empty_model(recorder: &Recorder) {
    recorder.respond("config-get", "{}");
    recorder.respond("is-leader", "true");
    recorder.respond("unit-get", "\"192.0.2.10\"");
    recorder.respond("relation-ids", "[]");
    recorder.respond("opened-ports", "[]");
}

/// Runs `program` with exactly `env` (Juju replaces the environment), cwd the charm dir and
/// stdin `/dev/null`, on a machine of its own (see [`MACHINE_DIRS`]).
fn run(program: &Path, args: &[&str], env: &BTreeMap<String, String>, cwd: &Path) -> Output {
    let script = format!(
        "set -e; for d in {MACHINE_DIRS}; do mkdir -p $d; mount -t tmpfs tmpfs $d; done; \
         exec \"$0\" \"$@\""
    );
    Command::new("/usr/bin/unshare")
        .args([
            "--fork",
            "--pid",
            "--mount",
            "--net",
            "--propagation",
            "private",
        ])
        .args(["--", "/bin/sh", "-c", &script])
        .arg(program)
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the charm binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn require_haproxy() {
    assert!(
        Path::new("/usr/sbin/haproxy").exists(),
        "this test needs Debian's haproxy package: run `make deps`"
    );
}

#[test]
fn version_and_help_work_outside_juju() {
    let tmp = tempfile::tempdir().unwrap();
    let env = BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
    let out = run(Path::new(BIN), &["--version"], &env, tmp.path());
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!("haproxy-lb {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = run(Path::new(BIN), &["--help"], &env, tmp.path());
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("usage: haproxy-lb [--version | --help]"));
}

#[test]
fn anything_else_outside_juju_exits_2_with_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let env = BTreeMap::from([
        ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
        // Without JUJU_UNIT_NAME even a dispatch path does not make it a hook.
        ("JUJU_DISPATCH_PATH".to_owned(), "hooks/install".to_owned()),
    ]);
    for args in [
        &[][..],
        &["install"],
        &["--bogus"],
        &["--version", "--help"],
    ] {
        let out = run(Path::new(BIN), args, &env, tmp.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).starts_with("usage: haproxy-lb"),
            "{args:?}"
        );
        assert_eq!(text(&out.stdout), "", "{args:?}");
    }
}

#[test]
fn dispatch_path_selects_the_hook() {
    require_haproxy();
    let recorder = Recorder::new();
    answer_like_an_empty_model(&recorder);
    let charm = tempfile::tempdir().unwrap();
    let mut env = juju_env(&recorder, charm.path());
    env.insert("JUJU_DISPATCH_PATH".into(), "hooks/install".into());
    env.insert("JUJU_HOOK_NAME".into(), "install".into());
    let out = run(Path::new(BIN), &[], &env, charm.path());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let lines = recorder.lines();
    assert_eq!(
        lines[0],
        "juju-log --log-level DEBUG -- hook install started (Juju 3.6.8)"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("application-version-set -- 2.")),
        "{lines:?}"
    );
    // The reconcile ran: HAProxy started in the test's machine, and the status says so.
    assert!(
        lines.contains(&"status-set --application=false active -- ready, no services yet".into()),
        "{lines:?}"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn argv0_selects_the_hook_when_dispatch_path_is_absent() {
    require_haproxy();
    let recorder = Recorder::new();
    answer_like_an_empty_model(&recorder);
    let charm = tempfile::tempdir().unwrap();
    std::fs::copy(BIN, charm.path().join("dispatch")).unwrap();
    std::fs::create_dir(charm.path().join("hooks")).unwrap();
    for hook in ["install", "config-changed"] {
        std::os::unix::fs::symlink("../dispatch", charm.path().join("hooks").join(hook)).unwrap();
    }
    let env = juju_env(&recorder, charm.path());
    for hook in ["install", "config-changed"] {
        recorder.clear();
        let out = run(
            &charm.path().join("hooks").join(hook),
            &[],
            &env,
            charm.path(),
        );
        assert!(out.status.success(), "{hook}: {}", text(&out.stderr));
        assert_eq!(
            recorder.lines()[0],
            format!("juju-log --log-level DEBUG -- hook {hook} started (Juju 3.6.8)")
        );
    }
}

#[test]
fn action_dispatch_runs_the_action_handler() {
    let recorder = Recorder::new();
    let charm = tempfile::tempdir().unwrap();
    let mut env = juju_env(&recorder, charm.path());
    env.insert("JUJU_DISPATCH_PATH".into(), "actions/show-stats".into());
    env.insert("JUJU_ACTION_NAME".into(), "show-stats".into());
    env.insert("JUJU_ACTION_UUID".into(), "6".into());
    let out = run(Path::new(BIN), &[], &env, charm.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = recorder.lines();
    assert!(
        lines.contains(
            &"action-fail -- unknown action \"show-stats\": this charm's actions are stats, suspend, enable, version, archive-logs, show-config, reload, get-proxied-endpoints, set-server-state; nothing was done"
                .to_owned()
        ),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("status-set")),
        "{lines:?}"
    );
}

#[test]
fn a_failing_tool_fails_the_hook_and_is_logged() {
    require_haproxy();
    let recorder = Recorder::new();
    answer_like_an_empty_model(&recorder);
    recorder.respond_full("status-set", "", "ERROR connection is shut down\n", 1);
    let charm = tempfile::tempdir().unwrap();
    let mut env = juju_env(&recorder, charm.path());
    env.insert("JUJU_DISPATCH_PATH".into(), "hooks/update-status".into());
    let out = run(Path::new(BIN), &[], &env, charm.path());
    assert_eq!(out.status.code(), Some(1));
    let last = recorder.lines().pop().unwrap();
    assert!(
        last.starts_with(
            "juju-log --log-level ERROR -- hook update-status failed: hook tool failed: status-set"
        ),
        "{last}"
    );
    assert!(last.ends_with("ERROR connection is shut down"), "{last}");
}

#[test]
fn a_malformed_environment_exits_1_naming_the_variable() {
    let recorder = Recorder::new();
    let charm = tempfile::tempdir().unwrap();
    let mut env = juju_env(&recorder, charm.path());
    env.insert("JUJU_DISPATCH_PATH".into(), "hooks/install".into());
    env.insert("JUJU_VERSION".into(), "three".into());
    let out = run(Path::new(BIN), &[], &env, charm.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("JUJU_VERSION='three'"),
        "{}",
        text(&out.stderr)
    );
    assert!(recorder.calls().is_empty());
}

#[test]
fn only_package_hooks_report_the_haproxy_version() {
    require_haproxy();
    let charm = tempfile::tempdir().unwrap();
    for (hook, reports) in [
        ("install", true),
        ("upgrade-charm", true),
        ("update-status", true),
        ("config-changed", false),
        ("reverseproxy-relation-changed", false),
    ] {
        let recorder = Recorder::new();
        answer_like_an_empty_model(&recorder);
        let mut env = juju_env(&recorder, charm.path());
        env.insert("JUJU_DISPATCH_PATH".into(), format!("hooks/{hook}"));
        env.insert("JUJU_HOOK_NAME".into(), hook.into());
        if hook.contains("relation") {
            env.insert("JUJU_RELATION".into(), "reverseproxy".into());
            env.insert("JUJU_RELATION_ID".into(), "reverseproxy:1".into());
            env.insert("JUJU_REMOTE_APP".into(), "web".into());
            env.insert("JUJU_REMOTE_UNIT".into(), "web/0".into());
        }
        let out = run(Path::new(BIN), &[], &env, charm.path());
        assert!(out.status.success(), "{hook}: {}", text(&out.stderr));
        let lines = recorder.lines();
        assert_eq!(
            lines
                .iter()
                .any(|l| l.starts_with("application-version-set")),
            reports,
            "{hook}: {lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("status-set")),
            "{hook} still reconciles: {lines:?}"
        );
    }
}
