//! `HookTools` sends exactly the argv and stdin of spec §7 "Rust charm side" (ops ≥ 3.4 forms,
//! §5), parses each tool's JSON, and maps failures to typed errors — checked against recording
//! tool scripts.

mod support;

use std::collections::BTreeMap;

use haproxy_lb::juju::{
    AppName, Bag, ConfigValues, HookTools, Leader, LogLevel, PortRange, RelationId, ToolError,
    UnitAddress, UnitName, WorkloadStatus,
};
use support::Recorder;

fn rel(text: &str) -> RelationId {
    text.parse().unwrap()
}

fn bag(pairs: &[(&str, &str)]) -> Bag {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn setup() -> (Recorder, HookTools) {
    let recorder = Recorder::new();
    let tools = HookTools::new(recorder.bin_str());
    (recorder, tools)
}

fn leader(recorder: &Recorder, tools: &HookTools) -> Leader {
    recorder.respond("is-leader", "true\n");
    let leader = tools.is_leader().unwrap().expect("leader");
    recorder.clear();
    leader
}

#[test]
fn relation_reads_send_format_json_and_endpoint_ids() {
    let (recorder, tools) = setup();
    recorder.respond("relation-ids", "[\"website:10\",\"website:2\"]\n");
    assert_eq!(
        tools.relation_ids("website").unwrap(),
        vec![rel("website:10"), rel("website:2")]
    );
    recorder.respond("relation-list", "[\"web/0\",\"web/10\"]\n");
    let units: Vec<String> = tools
        .relation_list(&rel("reverseproxy:3"))
        .unwrap()
        .iter()
        .map(UnitName::to_string)
        .collect();
    assert_eq!(units, ["web/0", "web/10"]);
    recorder.respond("relation-list", "\"web\"\n");
    assert_eq!(
        tools
            .relation_remote_app(&rel("reverseproxy:3"))
            .unwrap()
            .as_str(),
        "web"
    );
    recorder.respond(
        "relation-get",
        "{\"hostname\":\"10.0.0.5\",\"port\":\"8080\",\"private-address\":\"10.0.0.5\"}\n",
    );
    let unit: UnitName = "web/1".parse().unwrap();
    assert_eq!(
        tools
            .relation_get_unit(&rel("reverseproxy:3"), &unit)
            .unwrap(),
        bag(&[
            ("hostname", "10.0.0.5"),
            ("port", "8080"),
            ("private-address", "10.0.0.5")
        ])
    );
    recorder.respond("relation-get", "{}\n");
    let app: AppName = "web".parse().unwrap();
    assert_eq!(
        tools
            .relation_get_app(&rel("reverseproxy:3"), &app)
            .unwrap(),
        Bag::new()
    );

    assert_eq!(
        recorder.lines(),
        [
            "relation-ids --format=json website",
            "relation-list --format=json -r reverseproxy:3",
            "relation-list --format=json --app -r reverseproxy:3",
            "relation-get --format=json -r reverseproxy:3 - web/1",
            "relation-get --format=json -r reverseproxy:3 --app - web",
        ]
    );
    assert!(recorder.calls().iter().all(|c| c.stdin.is_empty()));
    assert_eq!(tools.call_count(), 5);
}

#[test]
fn relation_set_sends_json_on_stdin_never_in_argv() {
    let (recorder, tools) = setup();
    let secret = "-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n";
    let changes = bag(&[("hostname", " 10.0.0.9 "), ("key", secret), ("old", "")]);
    tools
        .relation_set_unit(&rel("website:4"), &changes)
        .unwrap();
    let leader = leader(&recorder, &tools);
    tools
        .relation_set_app(
            &leader,
            &rel("lb-consumers:7"),
            &bag(&[("response", "{\"a\":1}")]),
        )
        .unwrap();
    // No changes, no call.
    tools
        .relation_set_unit(&rel("website:4"), &Bag::new())
        .unwrap();

    let calls = recorder.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].line(),
        "relation-set -r lb-consumers:7 --app --file -"
    );
    assert_eq!(calls[0].stdin, r#"{"response":"{\"a\":1}"}"#);
    // The unit write came before the leader check cleared the log; run it again to inspect.
    tools
        .relation_set_unit(&rel("website:4"), &changes)
        .unwrap();
    let call = recorder.calls().pop().unwrap();
    assert_eq!(call.line(), "relation-set -r website:4 --file -");
    let sent: BTreeMap<String, String> = serde_json::from_str(&call.stdin).unwrap();
    assert_eq!(sent, changes, "exact values, whitespace and deletions kept");
    assert!(!call.args.iter().any(|a| a.contains("PRIVATE")));
}

#[test]
fn config_leadership_and_status_calls() {
    let (recorder, tools) = setup();
    recorder.respond(
        "config-get",
        "{\"default_retries\":3,\"services\":\"\",\"ssl_cert\":null,\"x\":true}\n",
    );
    let config: ConfigValues = tools.config_get_all().unwrap();
    assert_eq!(config["default_retries"], serde_json::json!(3));
    assert_eq!(config["ssl_cert"], serde_json::Value::Null);
    recorder.respond("is-leader", "false\n");
    assert!(tools.is_leader().unwrap().is_none());
    recorder.respond("is-leader", "true\n");
    let leader = tools.is_leader().unwrap().expect("leader token");
    tools
        .status_set(WorkloadStatus::Active, "serving 3 backends")
        .unwrap();
    tools
        .status_set(WorkloadStatus::Blocked, "-r looks like a flag\nsecond line")
        .unwrap();
    tools
        .application_status_set(&leader, WorkloadStatus::Waiting, "")
        .unwrap();
    tools.application_version_set("2.6.12-1+deb12u4").unwrap();
    assert_eq!(
        recorder.lines(),
        [
            "config-get --format=json --all",
            "is-leader --format=json",
            "is-leader --format=json",
            "status-set --application=false active -- serving 3 backends",
            "status-set --application=false blocked -- -r looks like a flag\nsecond line",
            "status-set --application=true waiting -- ",
            "application-version-set -- 2.6.12-1+deb12u4",
        ]
    );
    assert!(recorder.calls().iter().all(|c| c.stdin.is_empty()));
}

#[test]
fn port_and_network_calls() {
    let (recorder, tools) = setup();
    tools.open_port(PortRange::tcp(80)).unwrap();
    tools.close_port("8000-8999/udp".parse().unwrap()).unwrap();
    tools.open_port(PortRange::Icmp).unwrap();
    recorder.respond("opened-ports", "[\"icmp\",\"80/tcp\",\"8000-8999/udp\"]\n");
    let opened: Vec<String> = tools
        .opened_ports()
        .unwrap()
        .iter()
        .map(PortRange::to_string)
        .collect();
    assert_eq!(opened, ["icmp", "80/tcp", "8000-8999/udp"]);
    recorder.respond(
        "network-get",
        r#"{"bind-addresses":[{"mac-address":"00:16:3e:aa:bb:cc","interface-name":"eth0","addresses":[{"hostname":"","value":"10.1.2.3","cidr":"10.1.2.0/24"}]}],"egress-subnets":["10.1.2.3/32"],"ingress-addresses":["10.1.2.3"]}
"#,
    );
    let info = tools.network_get("website", None).unwrap();
    tools
        .network_get("website", Some(&rel("website:4")))
        .unwrap();
    assert_eq!(info.ingress_addresses, ["10.1.2.3"]);
    assert_eq!(info.egress_subnets, ["10.1.2.3/32"]);
    assert_eq!(info.bind_addresses[0].interface_name, "eth0");
    assert_eq!(info.bind_addresses[0].addresses[0].cidr, "10.1.2.0/24");
    recorder.respond("network-get", "\"10.1.2.3\"\n");
    assert_eq!(
        tools
            .network_get_ingress_address("reverseproxy", Some(&rel("reverseproxy:3")))
            .unwrap(),
        "10.1.2.3"
    );
    recorder.respond("unit-get", "\"10.1.2.4\"\n");
    assert_eq!(tools.unit_get(UnitAddress::Private).unwrap(), "10.1.2.4");
    assert_eq!(tools.unit_get(UnitAddress::Public).unwrap(), "10.1.2.4");
    assert_eq!(
        recorder.lines(),
        [
            "open-port 80/tcp",
            "close-port 8000-8999/udp",
            "open-port icmp",
            "opened-ports --format=json",
            "network-get --format=json website",
            "network-get --format=json -r website:4 website",
            "network-get --format=json -r reverseproxy:3 reverseproxy --ingress-address",
            "unit-get --format=json private-address",
            "unit-get --format=json public-address",
        ]
    );
    assert!(recorder.calls().iter().all(|c| c.stdin.is_empty()));
}

#[test]
fn log_and_action_calls_put_free_text_after_double_dash() {
    let (recorder, tools) = setup();
    tools.juju_log(LogLevel::Info, "--help me").unwrap();
    tools.juju_log(LogLevel::Warning, "w").unwrap();
    tools.juju_log(LogLevel::Debug, "d").unwrap();
    tools.juju_log(LogLevel::Error, "e").unwrap();
    tools.juju_log(LogLevel::Trace, "t").unwrap();
    recorder.respond("action-get", "{\"backend\":\"web\",\"count\":3}\n");
    let params: serde_json::Value = tools.action_get().unwrap();
    assert_eq!(params["count"], 3);
    let results: BTreeMap<String, String> = [
        ("stats.sessions".to_string(), "12".to_string()),
        ("message".to_string(), " spaced = kept ".to_string()),
    ]
    .into();
    tools.action_set(&results).unwrap();
    tools.action_set(&BTreeMap::new()).unwrap();
    tools.action_log("-progress 50%").unwrap();
    tools.action_fail("").unwrap();
    assert_eq!(
        recorder.lines(),
        [
            "juju-log --log-level INFO -- --help me",
            "juju-log --log-level WARNING -- w",
            "juju-log --log-level DEBUG -- d",
            "juju-log --log-level ERROR -- e",
            "juju-log --log-level TRACE -- t",
            "action-get --format=json",
            "action-set message= spaced = kept  stats.sessions=12",
            "action-log -- -progress 50%",
            "action-fail -- ",
        ]
    );
    assert!(recorder.calls().iter().all(|c| c.stdin.is_empty()));
    let set = &recorder.calls()[6];
    assert_eq!(set.args, ["message= spaced = kept ", "stats.sessions=12"]);
}

#[test]
fn very_long_log_messages_are_split() {
    let (recorder, tools) = setup();
    let message = "x".repeat(131_071 * 2 + 5);
    tools.juju_log(LogLevel::Info, &message).unwrap();
    let calls = recorder.calls();
    assert_eq!(calls.len(), 3);
    let sent: String = calls.iter().map(|c| c.args[3].as_str()).collect();
    assert_eq!(sent, message);
}

#[test]
fn action_set_refuses_keys_juju_would_refuse_without_calling() {
    let (recorder, tools) = setup();
    for key in ["Bad", "stdout", "a..b", "x_y"] {
        let results = BTreeMap::from([(key.to_string(), "v".to_string())]);
        assert!(
            matches!(
                tools.action_set(&results),
                Err(ToolError::InvalidInput {
                    tool: "action-set",
                    ..
                })
            ),
            "{key}"
        );
    }
    assert!(recorder.calls().is_empty());
}

#[test]
fn exit_2_with_relation_not_found_maps_to_relation_not_found() {
    let (recorder, tools) = setup();
    recorder.respond_full(
        "relation-get",
        "",
        "ERROR invalid value \"9\" for option -r: relation not found\n",
        2,
    );
    let unit: UnitName = "web/0".parse().unwrap();
    let err = tools
        .relation_get_unit(&rel("reverseproxy:9"), &unit)
        .unwrap_err();
    let ToolError::RelationNotFound(failure) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.tool, "relation-get");
    assert_eq!(
        failure.argv,
        ["--format=json", "-r", "reverseproxy:9", "-", "web/0"]
    );
    assert_eq!(failure.exit_code, Some(2));
    assert_eq!(
        failure.stderr,
        "ERROR invalid value \"9\" for option -r: relation not found"
    );
}

#[test]
fn exit_1_errors_map_by_their_text() {
    let (recorder, tools) = setup();
    let app: AppName = "haproxy-lb".parse().unwrap();
    recorder.respond_full("relation-get", "", "ERROR permission denied\n", 1);
    assert!(matches!(
        tools.relation_get_app(&rel("website:1"), &app),
        Err(ToolError::PermissionDenied(_))
    ));
    let leader = leader(&recorder, &tools);
    recorder.respond_full(
        "relation-set",
        "",
        "ERROR cannot write relation settings\n",
        1,
    );
    let err = tools
        .relation_set_app(&leader, &rel("website:1"), &bag(&[("k", "secret-value")]))
        .unwrap_err();
    let ToolError::NotLeader(failure) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.argv, ["-r", "website:1", "--app", "--file", "-"]);
    assert!(!err.to_string().contains("secret-value"), "{err}");
    recorder.respond_full("status-set", "", "ERROR this unit is not the leader\n", 1);
    assert!(matches!(
        tools.application_status_set(&leader, WorkloadStatus::Active, "ok"),
        Err(ToolError::NotLeader(_))
    ));
    recorder.respond_full(
        "network-get",
        "",
        "ERROR no network config found for binding \"nope\"\n",
        1,
    );
    let err = tools.network_get("nope", None).unwrap_err();
    assert!(
        matches!(&err, ToolError::Failed(f) if f.exit_code == Some(1)),
        "{err:?}"
    );
    assert!(err.to_string().contains("no network config found"), "{err}");
}

#[test]
fn exit_2_usage_errors_are_invalid_arguments() {
    let (recorder, tools) = setup();
    recorder.respond_full(
        "open-port",
        "",
        "ERROR port range bounds must be between 0 and 65535, got 1-70000\n",
        2,
    );
    let err = tools.open_port(PortRange::tcp(1)).unwrap_err();
    let ToolError::InvalidArguments(failure) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((failure.tool, failure.exit_code), ("open-port", Some(2)));
}

#[test]
fn action_set_failures_never_show_values() {
    let (recorder, tools) = setup();
    recorder.respond_full("action-set", "", "ERROR not running an action\n", 1);
    let results = BTreeMap::from([("password".to_string(), "hunter2".to_string())]);
    let err = tools.action_set(&results).unwrap_err();
    assert_eq!(err.failure().unwrap().argv, ["password=<redacted>"]);
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn unexpected_output_is_a_typed_error_without_the_output() {
    let (recorder, tools) = setup();
    recorder.respond("config-get", "ssl_key: SECRETKEY\n");
    let err = tools.config_get_all::<ConfigValues>().unwrap_err();
    assert!(
        matches!(
            err,
            ToolError::BadOutput {
                tool: "config-get",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("SECRETKEY"), "{err}");
    recorder.respond("relation-list", "[\"Not A Unit\"]\n");
    assert!(matches!(
        tools.relation_list(&rel("website:1")),
        Err(ToolError::BadOutput {
            tool: "relation-list",
            ..
        })
    ));
}

#[test]
fn clones_share_the_call_counter() {
    let (_recorder, tools) = setup();
    let clone = tools.clone();
    clone.juju_log(LogLevel::Info, "one").unwrap();
    tools.open_port(PortRange::tcp(80)).unwrap();
    assert_eq!((tools.call_count(), clone.call_count()), (2, 2));
}
