//! `juju-log`, `juju-reboot`, `goal-state` and the tools jujusim does not simulate (secrets,
//! storage, resources, credentials, metrics), which answer in Juju's error form (§4.14,
//! §4.22, §4.23).

use super::flags::{Flag, FlagValue, Key};
use super::output::{Format, OutputOpts, Val};
use super::text::{go_quote, unrecognized, utc_timestamp};
use super::{output_flag, output_flags, Call, Tool, ToolError};
use crate::context::ImmediateEffect;

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "juju-log",
        args: "<message>",
        purpose: "Write a message to the juju log.",
        flags: &LOG_FLAGS,
        run: juju_log,
    },
    Tool {
        name: "juju-reboot",
        args: "",
        purpose: "Reboot the host machine.",
        flags: &REBOOT_FLAGS,
        run: juju_reboot,
    },
    Tool {
        name: "goal-state",
        args: "",
        purpose: "Print the status of the charm's peers and related units.",
        flags: &GOAL_FLAGS,
        run: goal_state,
    },
    unsupported("secret-add", &SECRET_WRITE),
    unsupported("secret-get", &SECRET_GET),
    unsupported("secret-set", &SECRET_WRITE),
    unsupported("secret-grant", &SECRET_GRANT),
    unsupported("secret-revoke", &SECRET_REVOKE),
    unsupported("secret-remove", &SECRET_REMOVE),
    unsupported("secret-ids", &OUT_YAML),
    unsupported("secret-info-get", &SECRET_INFO),
    unsupported("storage-add", &NO_FLAGS),
    unsupported("storage-get", &STORAGE_GET),
    unsupported("storage-list", &OUT_YAML),
    unsupported("resource-get", &NO_FLAGS),
    unsupported("credential-get", &OUT_YAML),
    unsupported("add-metric", &ADD_METRIC),
];

const LOG_FLAGS: [Flag; 4] = [
    Flag::switch("debug", Key::Debug, "log at debug level"),
    Flag::value(
        "l",
        Key::LogLevel,
        "INFO",
        "Send log message at the given level",
    ),
    Flag::value("log-level", Key::LogLevel, "", ""),
    Flag::value("format", Key::Format, "", "deprecated format flag"),
];
const REBOOT_FLAGS: [Flag; 1] = [Flag::switch(
    "now",
    Key::Now,
    "reboot immediately, killing the invoking process",
)];
const GOAL_FLAGS: [Flag; 3] = output_flags("yaml");

/// loggo `ParseLevel`, printed the way loggo names the level.
fn parse_level(s: &str) -> Option<&'static str> {
    match s.to_uppercase().as_str() {
        "TRACE" => Some("TRACE"),
        "DEBUG" => Some("DEBUG"),
        "INFO" => Some("INFO"),
        "WARN" | "WARNING" => Some("WARNING"),
        "ERROR" => Some("ERROR"),
        "CRITICAL" => Some("CRITICAL"),
        // A valid loggo level that no logger writes: the message is dropped.
        "UNSPECIFIED" => Some("UNSPECIFIED"),
        _ => None,
    }
}

/// §4.14 `juju-log`: an immediate log record, prefixed `<endpoint>:<id>: ` in relation hooks.
fn juju_log(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let (mut debug, mut level, mut format_flag) = (false, String::new(), String::new());
    let pos = call.parse(|key, v| {
        match (key, v) {
            (Key::Debug, v) => debug = v == FlagValue::Bool(true),
            (Key::LogLevel, FlagValue::Text(l)) => level = l,
            (Key::Format, FlagValue::Text(f)) => format_flag = f,
            _ => {}
        }
        Ok(())
    })?;
    if pos.is_empty() {
        return Err(ToolError::Usage("no message specified".into()));
    }
    if !format_flag.is_empty() {
        call.stderr
            .extend_from_slice(b"--format flag deprecated for command \"juju-log\"");
    }
    let level_name = if debug {
        "DEBUG"
    } else if level.is_empty() {
        "INFO"
    } else {
        match parse_level(&level) {
            Some(l) => l,
            None => {
                call.ctx.immediate.push(ImmediateEffect::Log {
                    level: "WARNING".into(),
                    message: format!("Specified log level of {} is not valid", go_quote(&level)),
                });
                "INFO"
            }
        }
    };
    if level_name == "UNSPECIFIED" {
        return Ok(Vec::new());
    }
    let prefix = match call
        .ctx
        .relation_id
        .and_then(|id| call.ctx.relations.get(&id))
    {
        Some(r) => format!("{}:{}: ", r.endpoint, r.id),
        None => String::new(),
    };
    call.ctx.immediate.push(ImmediateEffect::Log {
        level: level_name.into(),
        message: format!("{prefix}{}", pos.join(" ")),
    });
    Ok(Vec::new())
}

/// §4.22 `juju-reboot`. The simulator has no machine to reboot: the request is validated and
/// recorded in the unit log so the runner and tests can see it.
fn juju_reboot(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut now = false;
    let pos = call.parse(|key, v| {
        if key == Key::Now {
            now = v == FlagValue::Bool(true);
        }
        Ok(())
    })?;
    if !pos.is_empty() {
        return Err(ToolError::Usage(unrecognized(&pos)));
    }
    if call.ctx.action.is_some() {
        return Err(ToolError::Run(
            "juju-reboot is not supported when running an action.".into(),
        ));
    }
    let when = if now { "now" } else { "after this hook" };
    call.ctx.immediate.push(ImmediateEffect::Log {
        level: "INFO".into(),
        message: format!("juju-reboot requested ({when}); jujusim does not reboot machines"),
    });
    Ok(Vec::new())
}

/// §4.23 `goal-state`: this application's units and each endpoint's related units, all
/// `active`/`joined` (the simulator has no goal-state of its own), `since` = now.
fn goal_state(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = OutputOpts::new(Format::Yaml);
    let pos = call.parse(|key, v| output_flag(&mut out, key, &v).unwrap_or(Ok(())))?;
    if !pos.is_empty() {
        return Err(ToolError::Usage(unrecognized(&pos)));
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let since = utc_timestamp(secs);
    let entry = |status: &str| {
        Val::Map(vec![
            ("status".into(), Val::str(status)),
            ("since".into(), Val::str(since.clone())),
        ])
    };
    let mut units: Vec<String> = call.ctx.unit_statuses.keys().cloned().collect();
    if !units.contains(&call.ctx.unit) {
        units.push(call.ctx.unit.clone());
        units.sort();
    }
    let units = Val::Map(units.into_iter().map(|u| (u, entry("active"))).collect());
    let mut by_endpoint: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, Val>,
    > = Default::default();
    for r in call.ctx.relations.values().filter(|r| !r.broken) {
        let e = by_endpoint.entry(r.endpoint.clone()).or_default();
        if !r.is_peer {
            e.insert(r.remote_app.clone(), entry("joined"));
        }
        for m in &r.members {
            e.insert(m.clone(), entry("active"));
        }
    }
    let relations = Val::Map(
        by_endpoint
            .into_iter()
            .map(|(k, v)| (k, Val::Map(v.into_iter().collect())))
            .collect(),
    );
    call.emit(
        &out,
        &Val::Map(vec![
            ("units".into(), units),
            ("relations".into(), relations),
        ]),
    )
}

const fn unsupported(name: &'static str, flags: &'static [Flag]) -> Tool {
    Tool {
        name,
        args: "",
        purpose: "Not supported by jujusim.",
        flags,
        run: not_supported,
    }
}

// The options these tools have in Juju, so that argv errors still exit 2 as there; their values
// are not used.
const NO_FLAGS: [Flag; 0] = [];
const OUT_YAML: [Flag; 3] = output_flags("yaml");
const fn ignored(name: &'static str, kind: super::flags::Kind) -> Flag {
    Flag {
        name,
        kind,
        key: Key::Ignored,
        default: "",
        help: "",
    }
}
const V: super::flags::Kind = super::flags::Kind::Value;
const B: super::flags::Kind = super::flags::Kind::Bool;
const SECRET_WRITE: [Flag; 6] = [
    ignored("expire", V),
    ignored("rotate", V),
    ignored("description", V),
    ignored("label", V),
    ignored("owner", V),
    ignored("file", V),
];
const SECRET_GET: [Flag; 6] = [
    OUT_YAML[0],
    OUT_YAML[1],
    OUT_YAML[2],
    ignored("label", V),
    ignored("peek", B),
    ignored("refresh", B),
];
const SECRET_INFO: [Flag; 4] = [OUT_YAML[0], OUT_YAML[1], OUT_YAML[2], ignored("label", V)];
const SECRET_GRANT: [Flag; 3] = [ignored("r", V), ignored("relation", V), ignored("unit", V)];
const SECRET_REVOKE: [Flag; 5] = [
    ignored("r", V),
    ignored("relation", V),
    ignored("app", V),
    ignored("application", V),
    ignored("unit", V),
];
const SECRET_REMOVE: [Flag; 1] = [ignored("revision", V)];
const STORAGE_GET: [Flag; 4] = [OUT_YAML[0], OUT_YAML[1], OUT_YAML[2], ignored("s", V)];
const ADD_METRIC: [Flag; 2] = [ignored("l", V), ignored("labels", V)];

/// Juju's error form for what the simulator does not model. Secret reads say `not found`, so
/// ops maps them to `SecretNotFoundError` (§3, §4.23); `add-metric` answers as outside
/// `collect-metrics`, which jujusim never runs.
fn not_supported(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = OutputOpts::new(Format::Yaml);
    call.parse(|key, v| output_flag(&mut out, key, &v).unwrap_or(Ok(())))?;
    let name = call.tool.name;
    let msg = match name {
        "add-metric" => "metrics not allowed in this context".to_string(),
        n if n.starts_with("secret-") => {
            format!("secret not found: secrets are not supported by jujusim ({n})")
        }
        n => format!("{n} is not supported by jujusim"),
    };
    Err(ToolError::Run(msg))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::context::ImmediateEffect;

    fn log(level: &str, message: &str) -> ImmediateEffect {
        ImmediateEffect::Log {
            level: level.into(),
            message: message.into(),
        }
    }

    #[test]
    fn juju_log_levels_prefix_and_joining() {
        let mut ctx = fixture();
        assert_ok(
            &call(
                &mut ctx,
                "juju-log",
                &["--log-level", "DEBUG", "--", "hello", "world"],
            ),
            "",
        );
        assert_ok(&call(&mut ctx, "juju-log", &["-l", "warn", "x"]), "");
        assert_ok(&call(&mut ctx, "juju-log", &["-lerror", "y"]), "");
        assert_ok(
            &call(&mut ctx, "juju-log", &["--debug", "-l", "ERROR", "z"]),
            "",
        );
        assert_ok(&call(&mut ctx, "juju-log", &["--log-level=bogus", "w"]), "");
        assert_ok(&call(&mut ctx, "juju-log", &["--", "-not-a-flag"]), "");
        assert_eq!(
            ctx.immediate,
            vec![
                log("DEBUG", "reverseproxy:2: hello world"),
                log("WARNING", "reverseproxy:2: x"),
                log("ERROR", "reverseproxy:2: y"),
                log("DEBUG", "reverseproxy:2: z"),
                log("WARNING", "Specified log level of \"bogus\" is not valid"),
                log("INFO", "reverseproxy:2: w"),
                log("INFO", "reverseproxy:2: -not-a-flag"),
            ]
        );
        let mut ctx = plain_hook();
        assert_ok(&call(&mut ctx, "juju-log", &["plain"]), "");
        assert_ok(
            &call(&mut ctx, "juju-log", &["-l", "unspecified", "dropped"]),
            "",
        );
        assert_eq!(ctx.immediate, vec![log("INFO", "plain")]);
        assert_err(&call(&mut ctx, "juju-log", &[]), 2, "no message specified");
        let out = call(&mut ctx, "juju-log", &["--format", "json", "m"]);
        assert_eq!(
            (out.code, out.stderr.as_slice()),
            (0, &b"--format flag deprecated for command \"juju-log\""[..])
        );
    }

    #[test]
    fn juju_reboot_rules() {
        check_table(
            "juju-reboot",
            plain_hook,
            &[
                ok(&[], ""),
                ok(&["--now"], ""),
                usage(&["x"], "unrecognized args: [\"x\"]"),
            ],
        );
        let mut ctx = plain_hook();
        ctx.action = Some(crate::context::ActionContext {
            name: "a".into(),
            id: "1".into(),
            params: serde_json::Value::Null,
            results: Default::default(),
            failure: None,
        });
        assert_err(
            &call(&mut ctx, "juju-reboot", &[]),
            1,
            "juju-reboot is not supported when running an action.",
        );
    }

    #[test]
    fn goal_state_has_units_and_relations() {
        let mut ctx = fixture();
        let out = call(&mut ctx, "goal-state", &["--format=json"]);
        assert_eq!(out.code, 0);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["units"]["lb/0"]["status"], "active");
        assert_eq!(v["units"]["lb/1"]["status"], "active");
        assert_eq!(v["relations"]["reverseproxy"]["web"]["status"], "joined");
        assert_eq!(v["relations"]["reverseproxy"]["web/1"]["status"], "active");
        assert_eq!(v["relations"]["peers"]["lb/1"]["status"], "active");
        assert!(v["relations"].get("website").is_none());
        let since = v["units"]["lb/0"]["since"].as_str().unwrap();
        assert!(
            since.len() == 20 && &since[10..11] == " " && since.ends_with('Z'),
            "{since}"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("{\"units\":"), "units come first: {text}");
        let yaml = call(&mut ctx, "goal-state", &[]);
        assert!(String::from_utf8(yaml.stdout)
            .unwrap()
            .starts_with("units:\n  lb/0:\n    status: active\n"));
    }

    #[test]
    fn unsupported_tools_answer_in_juju_error_form() {
        let mut ctx = fixture();
        let out = call(&mut ctx, "secret-get", &["secret:123", "--format=json"]);
        assert_eq!(out.code, 1);
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("ERROR ")
                && err.contains("not found")
                && err.contains("not supported by jujusim"),
            "{err}"
        );
        assert_err(
            &call(&mut ctx, "storage-list", &[]),
            1,
            "storage-list is not supported by jujusim",
        );
        assert_err(
            &call(&mut ctx, "add-metric", &["k=1"]),
            1,
            "metrics not allowed in this context",
        );
        assert_eq!(call(&mut ctx, "resource-get", &["--help"]).code, 0);
        // Their argv is still parsed as Juju's would be.
        assert_err(
            &call(&mut ctx, "secret-get", &["--bogus"]),
            2,
            "option provided but not defined: --bogus",
        );
        assert_err(
            &call(&mut ctx, "secret-get", &["--format=xml", "id"]),
            2,
            "invalid value \"xml\" for option --format: unknown format \"xml\"",
        );
        assert_err(
            &call(&mut ctx, "storage-get", &["-s"]),
            2,
            "option needs an argument: -s",
        );
    }
}
