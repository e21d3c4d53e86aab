//! Cross-tool tests: the registry, help, lazy stdin, and every argv form ops sends (§5) for the
//! three ops generations, asserted to mean the same thing.

use super::testutil::*;
use super::*;

#[test]
fn tool_names_match_the_registry() {
    let mut registered: Vec<&str> = all_tools().map(|t| t.name).collect();
    registered.sort();
    let mut names = TOOL_NAMES.to_vec();
    names.sort();
    assert_eq!(registered, names);
    for name in TOOL_NAMES {
        for flag in find_tool(name).unwrap().flags {
            assert!(
                flag.name != "h" && flag.name != "help",
                "{name} must not define -h"
            );
        }
    }
}

#[test]
fn unknown_tool_is_a_bad_request() {
    let mut ctx = fixture();
    assert_err(
        &call(&mut ctx, "frobnicate", &[]),
        1,
        "bad request: unknown command: frobnicate",
    );
}

#[test]
fn help_goes_to_stdout_with_exit_0_for_every_tool() {
    for name in TOOL_NAMES {
        for flag in ["-h", "--help"] {
            let mut ctx = fixture();
            let out = call(&mut ctx, name, &[flag]);
            assert_eq!(out.code, 0, "{name} {flag}");
            assert!(out.stderr.is_empty(), "{name} {flag}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(
                text.starts_with(&format!("Usage: {name}")),
                "{name}: {text}"
            );
        }
    }
    let mut ctx = fixture();
    let text = String::from_utf8(call(&mut ctx, "relation-get", &["--help"]).stdout).unwrap();
    assert!(text.contains("\nOptions:\n--app  (= false)\n"), "{text}");
    assert!(
        text.contains("-r, --relation  (= reverseproxy:2)\n"),
        "{text}"
    );
    let mut ctx = plain_hook();
    let text = String::from_utf8(call(&mut ctx, "relation-get", &["-h"]).stdout).unwrap();
    assert!(text.contains("-r, --relation  (= )\n"), "{text}");
    assert!(text.contains("-o, --output (= \"\")\n"), "{text}");
}

#[test]
fn only_file_dash_needs_stdin() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(needs_stdin("relation-set", &s(&["-r", "3", "--file", "-"])));
    assert!(needs_stdin("relation-set", &s(&["--file=-", "--app"])));
    assert!(needs_stdin("state-set", &s(&["--file", "-"])));
    assert!(!needs_stdin("relation-set", &s(&["--file", "x.yaml"])));
    assert!(!needs_stdin("relation-set", &s(&["a=-"])));
    assert!(!needs_stdin("relation-set", &s(&["--", "--file", "-"])));
    assert!(!needs_stdin("relation-get", &s(&["-"])));
    assert!(!needs_stdin("juju-log", &s(&["--file", "-"])));
    assert!(!needs_stdin("nope", &s(&["--file", "-"])));
}

/// Runs each argv on a fresh fixture and asserts they all give the same output and leave the
/// same context.
#[track_caller]
fn same_meaning(tool: &str, forms: &[&[&str]], stdin: Option<&str>, stdout: &str) {
    let mut first: Option<crate::context::HookContext> = None;
    for args in forms {
        let mut ctx = fixture();
        let out = call_stdin(&mut ctx, tool, args, stdin);
        assert_eq!(
            (
                out.code,
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned()
            ),
            (0, stdout.to_string(), String::new()),
            "{tool} {args:?}"
        );
        match &first {
            None => first = Some(ctx),
            Some(f) => assert_eq!(&ctx, f, "{tool} {args:?} changed the context differently"),
        }
    }
}

#[test]
fn ops_argv_generations_of_section_5_mean_the_same() {
    // (tool, [≤3.3, 3.4–3.7, ≥3.8], stdin, stdout)
    same_meaning(
        "relation-ids",
        &[&["reverseproxy", "--format=json"]],
        None,
        "[\"reverseproxy:10\",\"reverseproxy:2\"]\n",
    );
    same_meaning(
        "relation-list",
        &[
            &["-r", "10", "--format=json"],
            &["--format=json", "-r", "10"],
            &["--format=json", "-r", "reverseproxy:10"],
        ],
        None,
        "[\"api/0\"]\n",
    );
    same_meaning(
        "relation-list",
        &[
            &["-r", "10", "--app", "--format=json"],
            &["--format=json", "--app", "-r", "10"],
            &["--format=json", "--app", "-r", "reverseproxy:10"],
        ],
        None,
        "\"api\"\n",
    );
    same_meaning(
        "relation-get",
        &[
            &["-r", "2", "-", "web/1", "--format=json"],
            &["--format=json", "-r", "2", "-", "web/1"],
            &["--format=json", "-r", "reverseproxy:2", "-", "web/1"],
        ],
        None,
        "{\"hostname\":\"198.18.1.2\",\"port\":\"8080\"}\n",
    );
    same_meaning(
        "relation-get",
        &[
            &["-r", "2", "-", "web", "--app", "--format=json"],
            &["--format=json", "-r", "2", "--app", "-", "web"],
            &["--format=json", "-r", "reverseproxy:2", "--app", "-", "web"],
        ],
        None,
        "{\"services\":\"- {service_name: web}\"}\n",
    );
    // relation-set: YAML (≤ 3.3) and JSON (≥ 3.4) on stdin give the same bag and pending map.
    for stdin in [
        "a: '1'\nb: two words\nmine: ''\n",
        "{\"a\": \"1\", \"b\": \"two words\", \"mine\": \"\"}",
    ] {
        same_meaning(
            "relation-set",
            &[
                &["-r", "2", "--file", "-"],
                &["-r", "reverseproxy:2", "--file", "-"],
                &["--file=-", "--relation=2"],
            ],
            Some(stdin),
            "",
        );
        same_meaning(
            "relation-set",
            &[
                &["-r", "2", "--app", "--file", "-"],
                &["-r", "reverseproxy:2", "--app", "--file", "-"],
            ],
            Some(stdin),
            "",
        );
    }
    same_meaning(
        "relation-model-get",
        &[
            &["-r", "2", "--format=json"],
            &["--format=json", "-r", "2"],
            &["--format=json", "-r", "reverseproxy:2"],
        ],
        None,
        "{\"uuid\":\"6b8e1c6e-0000-4000-8000-000000000001\"}\n",
    );
    same_meaning(
        "config-get",
        &[&["--format=json", "global_maxconn"]],
        None,
        "4096\n",
    );
    same_meaning("is-leader", &[&["--format=json"]], None, "true\n");
    same_meaning(
        "status-get",
        &[
            &["--include-data", "--application=False", "--format=json"],
            &["--include-data", "--format=json", "--application=false"],
        ],
        None,
        "{\"message\":\"ready\",\"status\":\"active\",\"status-data\":{}}\n",
    );
    same_meaning(
        "status-get",
        &[&["--include-data", "--application=True", "--format=json"], &["--include-data", "--format=json", "--application=true"]],
        None,
        "{\"application-status\":{\"message\":\"\",\"status\":\"active\",\"status-data\":{},\"units\":{\"lb/0\":{\"message\":\"ready\",\"status\":\"active\",\"status-data\":{}},\"lb/1\":{\"message\":\"\",\"status\":\"waiting\",\"status-data\":{}}}}}\n",
    );
    same_meaning(
        "status-set",
        &[
            &["--application=False", "blocked", "no backends"],
            &["--application=False", "blocked", "--", "no backends"],
            &["--application=false", "blocked", "--", "no backends"],
        ],
        None,
        "",
    );
    same_meaning(
        "status-set",
        &[
            &["--application=True", "active", ""],
            &["--application=True", "active", "--", ""],
        ],
        None,
        "",
    );
    same_meaning("application-version-set", &[&["--", "2.6.12"]], None, "");
    same_meaning("open-port", &[&["8080/tcp"]], None, "");
    same_meaning("open-port", &[&["icmp"]], None, "");
    same_meaning("opened-ports", &[&[]], None, "");
    same_meaning("opened-ports", &[&["--format=json"]], None, "[]\n");
    same_meaning(
        "network-get",
        &[&["website", "-r", "10", "--format=json"], &["--format=json", "-r", "10", "website"]],
        None,
        "{\"bind-addresses\":[{\"mac-address\":\"00:16:3e:aa:bb:cc\",\"interface-name\":\"eth0\",\"addresses\":[{\"hostname\":\"\",\"value\":\"198.18.0.1\",\"cidr\":\"198.18.0.0/16\"}]}],\"egress-subnets\":[\"198.18.9.0/24\",\"198.19.0.0/16\"],\"ingress-addresses\":[\"198.18.9.9\"]}\n",
    );
    same_meaning(
        "juju-log",
        &[&["--log-level", "INFO", "--", "line"]],
        None,
        "",
    );
    same_meaning("juju-reboot", &[&[]], None, "");
    same_meaning("goal-state", &[&["--format=json"]], None, &goal_state_now());
}

/// Like [`same_meaning`] for calls that fail: every argv gives the same code and stderr.
#[track_caller]
fn same_failure(tool: &str, forms: &[&[&str]], code: i32, stderr: &str) {
    for args in forms {
        let mut ctx = fixture();
        let out = call(&mut ctx, tool, args);
        assert_eq!(
            (out.code, String::from_utf8_lossy(&out.stderr).into_owned()),
            (code, stderr.to_string()),
            "{tool} {args:?}"
        );
    }
}

#[test]
fn ops_argv_for_unsimulated_tools_parse_alike_and_fail_alike() {
    // §5 rows for storage, secrets, resources and credentials: every generation's argv parses
    // (so the failure is the tool's, exit 1), never an option error (exit 2).
    let secret = "ERROR secret not found: secrets are not supported by jujusim (secret-get)\n";
    same_failure(
        "secret-get",
        &[
            &["secret:abc", "--label", "L", "--refresh", "--format=json"],
            &["--format=json", "secret:abc", "--label", "L", "--refresh"],
            &["--format=json", "secret:abc", "--peek"],
        ],
        1,
        secret,
    );
    same_failure(
        "secret-grant",
        &[
            &["secret:abc", "--relation", "2", "--unit", "web/0"],
            &["--relation", "2", "--unit", "web/0", "secret:abc"],
        ],
        1,
        "ERROR secret not found: secrets are not supported by jujusim (secret-grant)\n",
    );
    same_failure(
        "secret-info-get",
        &[
            &["secret:abc", "--format=json"],
            &["--format=json", "--label", "L"],
        ],
        1,
        "ERROR secret not found: secrets are not supported by jujusim (secret-info-get)\n",
    );
    same_failure(
        "secret-remove",
        &[&["secret:abc"], &["secret:abc", "--revision", "2"]],
        1,
        "ERROR secret not found: secrets are not supported by jujusim (secret-remove)\n",
    );
    same_failure(
        "storage-list",
        &[&["data", "--format=json"], &["--format=json", "data"]],
        1,
        "ERROR storage-list is not supported by jujusim\n",
    );
    same_failure(
        "storage-get",
        &[
            &["-s", "data/0", "location", "--format=json"],
            &["--format=json", "-s", "data/0"],
        ],
        1,
        "ERROR storage-get is not supported by jujusim\n",
    );
    same_failure(
        "storage-add",
        &[&["data=1"]],
        1,
        "ERROR storage-add is not supported by jujusim\n",
    );
    same_failure(
        "resource-get",
        &[&["name"]],
        1,
        "ERROR resource-get is not supported by jujusim\n",
    );
    same_failure(
        "credential-get",
        &[&["--format=json"]],
        1,
        "ERROR credential-get is not supported by jujusim\n",
    );
}

#[test]
fn output_flags_behave_alike_on_every_tool_that_has_them() {
    // (tool, args that succeed on the fixture); goal-state prints the time, so it is left out.
    let cases: &[(&str, &[&str])] = &[
        ("relation-get", &[]),
        ("relation-ids", &[]),
        ("relation-list", &[]),
        ("relation-model-get", &[]),
        ("config-get", &[]),
        ("unit-get", &["private-address"]),
        ("network-get", &["website"]),
        ("status-get", &["--include-data"]),
        ("opened-ports", &[]),
        ("is-leader", &[]),
        ("leader-get", &[]),
        ("state-get", &[]),
    ];
    for name in TOOL_NAMES {
        let has_output = find_tool(name)
            .unwrap()
            .flags
            .iter()
            .any(|f| f.key == Key::Output);
        let listed = cases.iter().any(|(t, _)| t == name);
        assert!(
            !has_output
                || listed
                || [
                    "goal-state",
                    "action-get",
                    "secret-get",
                    "secret-ids",
                    "secret-info-get",
                    "storage-get",
                    "storage-list",
                    "credential-get"
                ]
                .contains(name),
            "{name} has output flags but no case here"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for (tool, base) in cases {
        let with = |extra: &[&str]| -> Vec<String> {
            base.iter().chain(extra).map(|s| s.to_string()).collect()
        };
        let run_in_dir = |args: Vec<String>| {
            let mut ctx = fixture();
            run(tool, &args, dir.path(), None, &mut ctx)
        };
        for format in ["json", "yaml", "smart"] {
            let eq = format!("--format={format}");
            let reference = run_in_dir(with(&[&eq]));
            assert_eq!(reference.code, 0, "{tool} {eq}: {reference:?}");
            // `--format x` and `--format=x` are the same; the last of repeated flags wins.
            assert_eq!(
                run_in_dir(with(&["--format", format])),
                reference,
                "{tool} --format {format}"
            );
            assert_eq!(
                run_in_dir(with(&["--format=json", &eq])),
                reference,
                "{tool} repeated --format"
            );
            // -o/--output write exactly the stdout bytes to the file and print nothing.
            for flag in [
                &["-o", "out.txt"][..],
                &["--output", "out.txt"],
                &["--output=out.txt"],
                &["-oout.txt"],
            ] {
                let _ = std::fs::remove_file(dir.path().join("out.txt"));
                let mut args = with(flag);
                args.push(eq.clone());
                let out = run_in_dir(args);
                assert_eq!(
                    (out.code, out.stdout.len(), out.stderr.len()),
                    (0, 0, 0),
                    "{tool} {flag:?}"
                );
                assert_eq!(
                    std::fs::read(dir.path().join("out.txt")).unwrap(),
                    reference.stdout,
                    "{tool} {flag:?} {format}"
                );
            }
        }
        // Each repeated value is still validated.
        let out = run_in_dir(with(&["--format=xml", "--format=json"]));
        assert_eq!(out.code, 2, "{tool}");
        // -o into a missing directory is a run error (exit 1) worded like Go's os.Create.
        let out = run_in_dir(with(&["-o", "missing/out.txt"]));
        let want = format!(
            "ERROR open {}/missing/out.txt: no such file or directory\n",
            dir.path().display()
        );
        assert_eq!(
            (out.code, String::from_utf8_lossy(&out.stderr).into_owned()),
            (1, want),
            "{tool}"
        );
    }
}

fn goal_state_now() -> String {
    let mut ctx = fixture();
    String::from_utf8(call(&mut ctx, "goal-state", &["--format=json"]).stdout).unwrap()
}

#[test]
fn ops_action_argv_forms() {
    let in_action = || {
        let mut ctx = plain_hook();
        ctx.action = Some(crate::context::ActionContext {
            name: "a".into(),
            id: "1".into(),
            params: serde_json::json!({"x": 1}),
            results: Default::default(),
            failure: None,
        });
        ctx
    };
    for (tool, forms) in [
        ("action-log", &[&["m"][..], &["--", "m"]][..]),
        ("action-fail", &[&["m"][..], &["--", "m"]]),
        ("action-fail", &[&[""][..], &["--", ""]]),
        ("action-set", &[&["k=v", "k2.sub=v"][..]]),
        ("action-get", &[&["--format=json"][..]]),
    ] {
        let mut first = None;
        for args in forms {
            let mut ctx = in_action();
            let out = call(&mut ctx, tool, args);
            assert_eq!(out.code, 0, "{tool} {args:?}");
            let seen = (out.stdout, ctx);
            match &first {
                None => first = Some(seen),
                Some(f) => assert_eq!(&seen, f, "{tool} {args:?}"),
            }
        }
    }
}

#[test]
fn a_tool_call_is_well_under_a_millisecond() {
    let mut ctx = fixture();
    let args: Vec<String> = ["--format=json", "-r", "reverseproxy:2", "-", "web/0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let start = std::time::Instant::now();
    for _ in 0..1000 {
        let out = run("relation-get", &args, Path::new("/"), None, &mut ctx);
        assert_eq!(out.code, 0);
    }
    let per_call = start.elapsed() / 1000;
    assert!(
        per_call < std::time::Duration::from_micros(500),
        "{per_call:?} per relation-get"
    );
}

fn argv_token() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        Just("-".to_string()),
        Just("--".to_string()),
        Just(String::new()),
        Just("--app".to_string()),
        Just("--format=json".to_string()),
        Just("--format".to_string()),
        Just("-r".to_string()),
        Just("-r2".to_string()),
        Just("reverseproxy:10".to_string()),
        Just("--file".to_string()),
        Just("-o".to_string()),
        Just("--all".to_string()),
        Just("web/0".to_string()),
        Just("k=v".to_string()),
        Just("80/tcp".to_string()),
        "[-a-z0-9=./:]{1,12}",
        "\\PC{0,12}",
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// No argv makes any tool panic; failures are always `ERROR ...` with exit 1 or 2.
    #[test]
    fn every_tool_answers_any_argv_without_panicking(
        tool in proptest::sample::select(TOOL_NAMES),
        args in proptest::collection::vec(argv_token(), 0..6),
        stdin in proptest::option::of("\\PC{0,40}"),
    ) {
        let mut ctx = fixture();
        let dir = tempfile::tempdir().unwrap();
        let out = run(tool, &args, dir.path(), stdin.as_deref().map(str::as_bytes), &mut ctx);
        proptest::prop_assert!(matches!(out.code, 0..=2), "{tool} {args:?}: {out:?}");
        if out.code != 0 {
            let err = String::from_utf8_lossy(&out.stderr);
            proptest::prop_assert!(err.contains("ERROR ") && err.ends_with('\n'), "{tool} {args:?}: {err}");
            proptest::prop_assert!(out.stdout.is_empty());
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// What `relation-set --file -` (JSON, as ops ≥ 3.4 sends it) writes, `relation-get
    /// --format=json` reads back in the same hook, empty values deleting keys.
    #[test]
    fn relation_set_then_get_round_trips(
        map in proptest::collection::btree_map("[a-z][a-z0-9-]{0,10}", "\\PC{0,30}", 0..6),
        app in proptest::bool::ANY,
    ) {
        let mut ctx = fixture();
        let body = serde_json::to_string(&map).unwrap()
            .replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029").replace('\u{85}', "\\u0085");
        let mut set_args = vec!["-r", "reverseproxy:10", "--file", "-"];
        let mut get_args = vec!["--format=json", "-r", "10", "-", "lb/0"];
        if app {
            set_args.push("--app");
            get_args = vec!["--format=json", "-r", "10", "--app", "-", "lb"];
        }
        let out = call_stdin(&mut ctx, "relation-set", &set_args, Some(&body));
        proptest::prop_assert_eq!(out.code, 0, "{:?}", out);
        let out = call(&mut ctx, "relation-get", &get_args);
        proptest::prop_assert_eq!(out.code, 0, "{:?}", out);
        let got: std::collections::BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
        for (k, v) in &map {
            proptest::prop_assert_eq!(got.get(k).cloned(), if v.is_empty() { None } else { Some(v.clone()) });
        }
        let r = &ctx.relations[&10];
        let pending = if app { &r.pending_app_writes } else { &r.pending_unit_writes };
        proptest::prop_assert_eq!(pending.len(), map.len());
    }
}
