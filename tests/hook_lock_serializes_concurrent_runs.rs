//! Serialization (issue 10 item 4, `src/lock.rs`): `juju exec` or an operator's shell can start
//! the charm while a hook runs. The real binary, on a machine of its own: a run that finds the
//! lock held waits for the holder (naming it in the log) and then reconciles; two hooks started
//! together both succeed, one after the other.

mod machine;
mod support;

use support::Recorder;

fn empty_model(recorder: &Recorder) {
    recorder.respond("config-get", &machine::config_defaults_json());
    recorder.respond("is-leader", "true");
    recorder.respond("unit-get", "\"127.0.7.1\"");
    recorder.respond("relation-ids", "[]");
    recorder.respond("opened-ports", "[]");
}

#[test]
fn a_hook_waits_for_the_holder_of_the_lock_and_names_it() {
    let recorder = Recorder::new();
    empty_model(&recorder);
    let charm = tempfile::tempdir().unwrap();
    let env = machine::juju_env(&recorder.bin_str(), charm.path(), "config-changed");
    // Another run holds the lock for 2 s, having written its name the way `lock.rs` does.
    let script = "lock=/var/lib/haproxy-lb/dispatch.lock; \
        flock $lock sh -c \"echo 'pid 4242 action test-holder' > $lock; sleep 2\" & \
        sleep 0.5; start=$(date +%s%N); \"$0\"; rc=$?; end=$(date +%s%N); \
        echo \"rc=$rc waited_ms=$(( (end - start) / 1000000 ))\"";
    let out = machine::run(script, &env, charm.path());
    let stdout = machine::text(&out.stdout);
    assert!(
        stdout.contains("rc=0"),
        "{stdout}{}",
        machine::text(&out.stderr)
    );
    let waited: u64 = stdout
        .split("waited_ms=")
        .nth(1)
        .and_then(|t| t.trim().parse().ok())
        .unwrap();
    assert!(waited >= 1200, "did not wait for the holder: {waited} ms");
    let lines = recorder.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("waiting for another hook or action")
                && l.contains("pid 4242 action test-holder")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("status-set")),
        "the hook ran after the wait: {lines:?}"
    );
}

#[test]
fn two_concurrent_hooks_both_succeed_one_after_the_other() {
    let recorder = Recorder::new();
    empty_model(&recorder);
    let charm = tempfile::tempdir().unwrap();
    let env = machine::juju_env(&recorder.bin_str(), charm.path(), "update-status");
    let script = "\"$0\" & a=$!; \"$0\"; rb=$?; wait $a; ra=$?; echo \"rc=$ra,$rb\"";
    let out = machine::run(script, &env, charm.path());
    let stdout = machine::text(&out.stdout);
    assert!(
        stdout.contains("rc=0,0"),
        "{stdout}{}",
        machine::text(&out.stderr)
    );
    let lines = recorder.lines();
    let started: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("config-get"))
        .map(|(n, _)| n)
        .collect();
    let statuses: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("status-set"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!((started.len(), statuses.len()), (2, 2), "{lines:?}");
    // Serialized: the second reconcile reads the model only after the first set its status.
    assert!(
        statuses[0] < started[1],
        "reconciles interleaved: {lines:?}"
    );
}
