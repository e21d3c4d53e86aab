//! Hook-tool failures (issue 10 item 5, `spec/juju-hook-tools.md` §1.5, §4): a tool the hook
//! reads the model with that fails (exit 1 with `ERROR ...`, exit 2, killed by a signal, or
//! garbage JSON on exit 0) makes the hook exit 1 with that error in the log, before anything is
//! applied: no `haproxy.cfg`, no candidate or temp file, no relation-set, no port opened. Juju
//! then retries the hook. A failing write after the apply (relation-set) also fails the hook and
//! leaves no temp file behind.
//!
//! The real binary runs on a machine of its own (`tests/machine`), with recording tools from
//! `tests/support` and small model scripts answering one `reverseproxy` relation.

mod machine;
mod support;

use support::{write_script, Recorder};

/// Tools answering a model with one reverseproxy relation and one web unit.
fn model(recorder: &Recorder) {
    recorder.respond("config-get", &machine::config_defaults_json());
    recorder.respond("is-leader", "true");
    recorder.respond("unit-get", "\"127.0.7.1\"");
    recorder.respond("opened-ports", "[]");
    recorder.respond("network-get", "\"127.0.7.1\"");
    let bin = recorder.bin();
    write_script(
        &bin.join("relation-ids"),
        "#!/bin/sh\ncase \"$*\" in *reverseproxy*) echo '[\"reverseproxy:1\"]';; *) echo '[]';; esac\n",
    );
    write_script(
        &bin.join("relation-list"),
        "#!/bin/sh\ncase \"$*\" in *--app*) echo '\"web\"';; *) echo '[\"web/0\"]';; esac\n",
    );
    write_script(
        &bin.join("relation-get"),
        "#!/bin/sh\ncase \"$*\" in *web/0*) echo '{\"private-address\":\"127.0.7.10\",\"port\":\"8080\"}';; *) echo '{}';; esac\n",
    );
}

/// (name, script body, text the hook's error must carry)
const FAILURES: &[(&str, &str, &str)] = &[
    (
        "exit 1 with ERROR",
        "echo 'ERROR connection is shut down' >&2; exit 1",
        "ERROR connection is shut down",
    ),
    (
        "exit 2",
        "echo 'ERROR option provided but not defined: --bogus' >&2; exit 2",
        "exited 2",
    ),
    ("killed", "kill -9 $$", "was killed by a signal"),
    (
        "garbage JSON",
        "echo '{\"not\": json'; exit 0",
        "unexpected output",
    ),
];

/// Read tools, in the order `reconcile::gather` calls them.
const READ_TOOLS: &[&str] = &[
    "config-get",
    "is-leader",
    "unit-get",
    "relation-ids",
    "relation-list",
    "relation-get",
    "network-get",
];

/// What the hook left on its machine: every file under the charm's directories.
const LIST_FILES: &str =
    "echo '--- files'; find /etc/haproxy /var/lib/haproxy-lb -type f 2>/dev/null | sort";

fn run_hook(recorder: &Recorder) -> (Option<i32>, Vec<String>) {
    let charm = tempfile::tempdir().unwrap();
    let env = machine::juju_env(&recorder.bin_str(), charm.path(), "config-changed");
    let out = machine::run(
        &format!("\"$0\"; rc=$?; {LIST_FILES}; echo \"--- rc $rc\""),
        &env,
        charm.path(),
    );
    let stdout = machine::text(&out.stdout);
    let rc = stdout
        .lines()
        .find_map(|l| l.strip_prefix("--- rc "))
        .and_then(|c| c.parse().ok());
    let files = stdout
        .split("--- files\n")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter(|l| !l.starts_with("--- rc"))
        .map(str::to_owned)
        .collect();
    (rc, files)
}

#[test]
fn the_model_without_failures_is_applied() {
    let recorder = Recorder::new();
    model(&recorder);
    let (rc, files) = run_hook(&recorder);
    assert_eq!(rc, Some(0), "{:?}", recorder.lines());
    assert!(
        files.contains(&"/etc/haproxy/haproxy.cfg".to_owned()),
        "{files:?}"
    );
    let lines = recorder.lines();
    assert!(
        lines.iter().any(|l| l.starts_with("relation-set")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("open-port 80/tcp")),
        "{lines:?}"
    );
}

#[test]
fn a_failing_read_tool_fails_the_hook_before_anything_is_applied() {
    let mut cases = 0;
    for tool in READ_TOOLS {
        for (how, body, evidence) in FAILURES {
            let recorder = Recorder::new();
            model(&recorder);
            write_script(
                &recorder.bin().join(tool),
                &format!("#!/bin/bash\n{body}\n"),
            );
            let (rc, files) = run_hook(&recorder);
            let what = format!("{tool} {how}");
            assert_eq!(rc, Some(1), "{what}: the hook must fail");
            let lines = recorder.lines();
            let error = lines
                .iter()
                .find(|l| l.starts_with("juju-log --log-level ERROR -- hook config-changed failed"))
                .unwrap_or_else(|| panic!("{what}: no error logged: {lines:?}"));
            assert!(error.contains(tool), "{what}: {error}");
            assert!(error.contains(evidence), "{what}: {error}");
            for applied in ["relation-set", "open-port", "close-port"] {
                assert!(
                    !lines.iter().any(|l| l.starts_with(applied)),
                    "{what}: {applied} was called: {lines:?}"
                );
            }
            let written: Vec<&String> = files
                .iter()
                .filter(|f| f.starts_with("/etc/haproxy/"))
                .collect();
            assert!(written.is_empty(), "{what}: files written: {written:?}");
            assert!(
                !files
                    .iter()
                    .any(|f| f.contains(".tmp") || f.ends_with(".new")),
                "{what}: temp files left: {files:?}"
            );
            cases += 1;
        }
    }
    eprintln!("tool failures: {cases} failing read-tool cases, each failed the hook before apply");
}

#[test]
fn a_failing_relation_set_fails_the_hook_and_leaves_no_temp_file() {
    for (how, body, evidence) in FAILURES.iter().take(3) {
        let recorder = Recorder::new();
        model(&recorder);
        write_script(
            &recorder.bin().join("relation-set"),
            &format!("#!/bin/bash\ncat >/dev/null\n{body}\n"),
        );
        let (rc, files) = run_hook(&recorder);
        assert_eq!(rc, Some(1), "relation-set {how}");
        let lines = recorder.lines();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("failed") && l.contains(evidence)),
            "relation-set {how}: {lines:?}"
        );
        // Applied before publishing: the config is whole, nothing half-written is left.
        assert!(
            files.contains(&"/etc/haproxy/haproxy.cfg".to_owned()),
            "{files:?}"
        );
        assert!(
            !files
                .iter()
                .any(|f| f.contains(".tmp") || f.ends_with(".new")),
            "relation-set {how}: temp files left: {files:?}"
        );
    }
}
