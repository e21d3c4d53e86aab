//! The hook entry point's install path: HAProxy already installed (the real one on this
//! machine), installed by apt-get (a fake that "installs" a fake haproxy), and apt-get failing
//! (a fake that fails: `blocked` with apt's reason, exit 0 so the next hook retries).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use haproxy_lb::charm::{ensure_installed, run_action, run_hook_with};
use haproxy_lb::install::{haproxy_version, Installer};
use haproxy_lb::juju::{Context, Dispatch, HookTools, Invocation};
use haproxy_lb::reconcile::Settings;
use support::{write_script, Recorder};

const REAL_HAPROXY: &str = "/usr/sbin/haproxy";

fn context(recorder: &Recorder, dispatch_path: &str) -> Context {
    let vars: BTreeMap<String, String> = [
        ("JUJU_UNIT_NAME", "haproxy-lb/0"),
        ("JUJU_MODEL_NAME", "test"),
        ("JUJU_MODEL_UUID", "2b3c4d5e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"),
        ("JUJU_CHARM_DIR", "/tmp/charm"),
        ("JUJU_VERSION", "3.6.8"),
        ("JUJU_DISPATCH_PATH", dispatch_path),
        ("JUJU_ACTION_UUID", "5"),
        ("PATH", &recorder.bin_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    match Context::from_parts(&vars, &["/tmp/charm/dispatch".to_owned()]).unwrap() {
        Invocation::Juju(ctx) => *ctx,
        other => panic!("{other:?}"),
    }
}

/// Paths under the test's scratch dir: nothing here may touch Debian's /etc/haproxy or /run.
fn unused_settings(recorder: &Recorder) -> Settings {
    let root = recorder.scratch().join("root");
    Settings {
        state_dir: root.join("var/lib/haproxy-lb"),
        files_dir: root.join("etc/haproxy/haproxy-lb"),
        haproxy: haproxy_lb::haproxy::Paths::under(&root),
    }
}

/// An apt-get that records its arguments in `apt.log` and runs `body`.
fn fake_apt(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("apt-get");
    write_script(
        &path,
        &format!(
            "#!/bin/bash\necho \"DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*\" >> '{}/apt.log'\n{body}\n",
            dir.display()
        ),
    );
    path
}

fn apt_log(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("apt.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn already_installed_haproxy_is_not_reinstalled_and_its_version_is_reported() {
    assert!(
        Path::new(REAL_HAPROXY).exists(),
        "this test needs Debian's haproxy package: run `make deps`"
    );
    let recorder = Recorder::new();
    let tools = HookTools::new(recorder.bin_str());
    let installer = Installer {
        apt_get: fake_apt(recorder.scratch(), "exit 1"),
        haproxy: PathBuf::from(REAL_HAPROXY),
    };
    let version = haproxy_version(Path::new(REAL_HAPROXY)).unwrap();
    assert!(version.as_str().starts_with("2."), "{version}");

    assert!(ensure_installed(&tools, &installer).unwrap());

    assert_eq!(apt_log(recorder.scratch()), Vec::<String>::new());
    assert_eq!(
        recorder.lines(),
        [format!("application-version-set -- {version}")]
    );
}

#[test]
fn absent_haproxy_is_installed_non_interactively() {
    let recorder = Recorder::new();
    let tools = HookTools::new(recorder.bin_str());
    let haproxy = recorder.scratch().join("haproxy");
    let installer = Installer {
        apt_get: fake_apt(
            recorder.scratch(),
            &format!(
                "printf '#!/bin/sh\\necho \"HAProxy version 2.8.5-1ubuntu3 2024/04/01 - https://haproxy.org/\"\\n' > '{0}'\nchmod 755 '{0}'",
                haproxy.display()
            ),
        ),
        haproxy,
    };

    assert!(ensure_installed(&tools, &installer).unwrap());

    let apt = apt_log(recorder.scratch());
    assert_eq!(apt.len(), 1, "{apt:?}");
    assert!(
        apt[0].starts_with("DEBIAN_FRONTEND=noninteractive -y -q "),
        "{}",
        apt[0]
    );
    assert!(
        apt[0].ends_with(" install --no-install-recommends haproxy"),
        "{}",
        apt[0]
    );
    assert_eq!(
        recorder.lines(),
        [
            "status-set --application=false maintenance -- installing haproxy",
            "application-version-set -- 2.8.5-1ubuntu3",
        ]
    );
}

#[test]
fn failing_apt_get_blocks_with_the_reason_and_exits_zero() {
    let recorder = Recorder::new();
    let tools = HookTools::new(recorder.bin_str());
    let installer = Installer {
        apt_get: fake_apt(
            recorder.scratch(),
            "echo 'Reading package lists...'\necho 'E: Unable to locate package haproxy' >&2\nexit 100",
        ),
        haproxy: recorder.scratch().join("no-haproxy-here"),
    };

    // The whole hook: a unit that cannot install HAProxy stops before the reconcile.
    run_hook_with(
        &context(&recorder, "hooks/config-changed"),
        &tools,
        &installer,
        &unused_settings(&recorder),
    )
    .unwrap();

    let apt = apt_log(recorder.scratch());
    assert_eq!(
        apt.len(),
        2,
        "install, then update (which fails too): {apt:?}"
    );
    assert!(apt[0].ends_with(" install --no-install-recommends haproxy"));
    assert!(apt[1].ends_with(" update"));
    assert_eq!(
        recorder.lines(),
        [
            "status-set --application=false maintenance -- installing haproxy",
            "status-set --application=false blocked -- cannot install haproxy: apt-get update \
             exited 100: E: Unable to locate package haproxy",
        ]
    );
}

#[test]
fn teardown_hooks_do_not_install() {
    let recorder = Recorder::new();
    let tools = HookTools::new(recorder.bin_str());
    let installer = Installer {
        apt_get: fake_apt(recorder.scratch(), "exit 1"),
        haproxy: recorder.scratch().join("no-haproxy-here"),
    };
    for hook in ["hooks/stop", "hooks/remove"] {
        run_hook_with(
            &context(&recorder, hook),
            &tools,
            &installer,
            &unused_settings(&recorder),
        )
        .unwrap();
    }
    assert!(apt_log(recorder.scratch()).is_empty());
    assert!(recorder.calls().is_empty());
}

#[test]
fn undeclared_actions_fail_the_action_not_the_process() {
    let recorder = Recorder::new();
    let tools = HookTools::new(recorder.bin_str());
    let ctx = context(&recorder, "actions/show-stats");
    let Dispatch::Action(action) = &ctx.dispatch else {
        panic!("{:?}", ctx.dispatch)
    };
    run_action(&ctx, &tools, action).unwrap();
    assert_eq!(
        recorder.lines(),
        ["action-fail -- unknown action \"show-stats\": this charm's actions are stats, suspend, enable, version, archive-logs, show-config, reload, get-proxied-endpoints, set-server-state; nothing was done"]
    );
}
