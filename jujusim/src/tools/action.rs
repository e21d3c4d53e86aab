//! `action-get`, `action-set`, `action-fail`, `action-log` (spec §4.15–§4.18). Results and the
//! failure message live in `ctx.action` until the runner finishes the action; `action-log` is
//! immediate.

use super::output::Val;
use super::text::{go_quote, unrecognized};
use super::{output_flag, output_flags, smart_output, Call, Tool, ToolError};
use crate::context::{ActionContext, ImmediateEffect};

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "action-get",
        args: "[<key>[.<key>.<key>...]]",
        purpose: "Get action parameters.",
        flags: &OUT,
        run: action_get,
    },
    Tool {
        name: "action-set",
        args: "<key>=<value> [<key>=<value> ...]",
        purpose: "Set action results.",
        flags: &[],
        run: action_set,
    },
    Tool {
        name: "action-fail",
        args: "[\"<failure message>\"]",
        purpose: "Set action fail status with message.",
        flags: &[],
        run: action_fail,
    },
    Tool {
        name: "action-log",
        args: "<message>",
        purpose: "Record a progress message for the current action.",
        flags: &[],
        run: action_log,
    },
];

const OUT: [super::flags::Flag; 3] = output_flags("smart");
const RESERVED: [&str; 4] = ["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

fn not_running() -> ToolError {
    ToolError::Run("not running an action".into())
}

fn action_mut<'c>(call: &'c mut Call) -> Result<&'c mut ActionContext, ToolError> {
    call.ctx.action.as_mut().ok_or_else(not_running)
}

/// §4.15 `action-get`.
fn action_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let pos = call.parse(|key, v| output_flag(&mut out, key, &v).unwrap_or(Ok(())))?;
    let mut keys: Vec<String> = Vec::new();
    if let Some((first, rest)) = pos.split_first() {
        if !rest.is_empty() {
            return Err(ToolError::Usage(unrecognized(rest)));
        }
        keys = first.split('.').map(str::to_string).collect();
    }
    let action = call.ctx.action.as_ref().ok_or_else(not_running)?;
    let empty = serde_json::Value::Object(Default::default());
    let mut value = if action.params.is_null() {
        &empty
    } else {
        &action.params
    };
    for k in &keys {
        match value.get(k.as_str()) {
            Some(v) if value.is_object() => value = v,
            _ => return call.emit(&out, &Val::Null),
        }
    }
    call.emit(&out, &Val::from_json(value))
}

/// The action key rule of juju/charm, `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
fn is_valid_key(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with('-')
        && !k.ends_with('-')
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Juju `addValueToMap`: a later scalar replaces a map and a later path replaces a scalar.
fn add_value(
    target: &mut serde_json::Map<String, serde_json::Value>,
    keys: &[String],
    value: &str,
) {
    let Some((last, path)) = keys.split_last() else {
        return;
    };
    let mut next = target;
    for k in path {
        let slot = next
            .entry(k.clone())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if !slot.is_object() {
            *slot = serde_json::Value::Object(Default::default());
        }
        let serde_json::Value::Object(map) = slot else {
            return;
        };
        next = map;
    }
    next.insert(last.clone(), serde_json::Value::String(value.to_string()));
}

/// §4.16 `action-set`.
fn action_set(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let pos = call.parse(|_, _| Ok(()))?;
    let mut pairs: Vec<(Vec<String>, String)> = Vec::new();
    for arg in &pos {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(ToolError::Usage(format!(
                "argument {} must be of the form key...=value",
                go_quote(arg)
            )));
        };
        let keys: Vec<String> = key.split('.').map(str::to_string).collect();
        for k in &keys {
            if !is_valid_key(k) {
                return Err(ToolError::Usage(format!(
                    "key {} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods",
                    go_quote(k)
                )));
            }
            if RESERVED.contains(&k.as_str()) {
                return Err(ToolError::Usage(format!(
                    "cannot set reserved action key {}",
                    go_quote(k)
                )));
            }
        }
        pairs.push((keys, value.to_string()));
    }
    for (keys, value) in pairs {
        add_value(&mut action_mut(call)?.results, &keys, &value);
    }
    Ok(Vec::new())
}

/// §4.17 `action-fail`: not fatal, records the message.
fn action_fail(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let pos = call.parse(|_, _| Ok(()))?;
    let message = match pos.split_first() {
        Some((m, rest)) => {
            if !rest.is_empty() {
                return Err(ToolError::Usage(unrecognized(rest)));
            }
            m.clone()
        }
        None => "action failed without reason given, check action for errors".to_string(),
    };
    action_mut(call)?.failure = Some(message);
    Ok(Vec::new())
}

/// §4.18 `action-log`: immediate.
fn action_log(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let pos = call.parse(|_, _| Ok(()))?;
    if pos.is_empty() {
        return Err(ToolError::Usage("no message specified".into()));
    }
    action_mut(call)?;
    call.ctx
        .immediate
        .push(ImmediateEffect::ActionLog(pos.join(" ")));
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    proptest::proptest! {
        #[test]
        fn key_rule_matches_juju_regex(s in "[a-z0-9-]{0,6}|[a-zA-Z0-9_.-]{0,4}") {
            let re = regex::Regex::new(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$").unwrap();
            proptest::prop_assert_eq!(super::is_valid_key(&s), re.is_match(&s), "{:?}", s);
        }
    }
    use crate::context::{ActionContext, HookContext, ImmediateEffect};

    fn in_action() -> HookContext {
        let mut ctx = plain_hook();
        ctx.hook_name = String::new();
        ctx.action = Some(ActionContext {
            name: "show-proxy".into(),
            id: "6".into(),
            params: serde_json::json!({"backend": "web", "limits": {"max": 10, "soft": true}, "tags": ["a", "b"]}),
            results: Default::default(),
            failure: None,
        });
        ctx
    }

    #[test]
    fn action_get_conformance() {
        check_table(
            "action-get",
            in_action,
            &[
                ok(&["--format=json"], "{\"backend\":\"web\",\"limits\":{\"max\":10,\"soft\":true},\"tags\":[\"a\",\"b\"]}\n"),
                ok(&["backend"], "web\n"),
                ok(&["limits.max", "--format=json"], "10\n"),
                ok(&["limits.soft"], "True\n"),
                ok(&["limits"], "max: 10\nsoft: true\n"),
                ok(&["tags"], "- a\n- b\n"),
                ok(&["limits.nope", "--format=json"], "null\n"),
                ok(&["backend.deeper", "--format=json"], "null\n"),
                ok(&["nope"], ""),
                usage(&["a", "b"], "unrecognized args: [\"b\"]"),
            ],
        );
        check_table(
            "action-get",
            plain_hook,
            &[fail(&[], "not running an action")],
        );
        let no_params = || {
            let mut ctx = in_action();
            ctx.action.as_mut().unwrap().params = serde_json::Value::Null;
            ctx
        };
        check_table("action-get", no_params, &[ok(&["--format=json"], "{}\n")]);
    }

    #[test]
    fn action_set_builds_nested_string_results() {
        let mut ctx = in_action();
        assert_ok(
            &call(&mut ctx, "action-set", &["a.b=1", "a.c= spaced ", "x=y=z"]),
            "",
        );
        assert_ok(
            &call(&mut ctx, "action-set", &["a.b.deep=2", "x.sub=3"]),
            "",
        );
        assert_ok(&call(&mut ctx, "action-set", &["a=scalar-again", "n="]), "");
        let results = serde_json::Value::Object(ctx.action.as_ref().unwrap().results.clone());
        assert_eq!(
            results,
            serde_json::json!({"a": "scalar-again", "n": "", "x": {"sub": "3"}})
        );
        let mut ctx = in_action();
        assert_ok(
            &call(&mut ctx, "action-set", &["a.b=1", "a.c= spaced ", "x=y=z"]),
            "",
        );
        let results = serde_json::Value::Object(ctx.action.as_ref().unwrap().results.clone());
        assert_eq!(
            results,
            serde_json::json!({"a": {"b": "1", "c": " spaced "}, "x": "y=z"})
        );
    }

    #[test]
    fn action_set_errors() {
        const KEY_RULE: &str = "must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods";
        check_table(
            "action-set",
            in_action,
            &[
                ok(&[], ""),
                usage(&["x"], "argument \"x\" must be of the form key...=value"),
                usage(&["stdout=1"], "cannot set reserved action key \"stdout\""),
                usage(
                    &["a.stderr-encoding=1"],
                    "cannot set reserved action key \"stderr-encoding\"",
                ),
            ],
        );
        let mut ctx = in_action();
        assert_err(
            &call(&mut ctx, "action-set", &["Foo=1"]),
            2,
            &format!("key \"Foo\" {KEY_RULE}"),
        );
        assert_err(
            &call(&mut ctx, "action-set", &["a..b=1"]),
            2,
            &format!("key \"\" {KEY_RULE}"),
        );
        assert_err(
            &call(&mut ctx, "action-set", &["-a=1"]),
            2,
            "option provided but not defined: -a",
        );
        assert_err(
            &call(&mut ctx, "action-set", &["--", "a-=1"]),
            2,
            &format!("key \"a-\" {KEY_RULE}"),
        );
        check_table(
            "action-set",
            plain_hook,
            &[fail(&["a=1"], "not running an action"), ok(&[], "")],
        );
    }

    #[test]
    fn action_fail_and_log() {
        let mut ctx = in_action();
        assert_ok(&call(&mut ctx, "action-fail", &[]), "");
        assert_eq!(
            ctx.action.as_ref().unwrap().failure.as_deref(),
            Some("action failed without reason given, check action for errors")
        );
        assert_ok(&call(&mut ctx, "action-fail", &["--", ""]), "");
        assert_eq!(ctx.action.as_ref().unwrap().failure.as_deref(), Some(""));
        assert_ok(&call(&mut ctx, "action-fail", &["disk full"]), "");
        assert_eq!(
            ctx.action.as_ref().unwrap().failure.as_deref(),
            Some("disk full")
        );
        assert_err(
            &call(&mut ctx, "action-fail", &["a", "b"]),
            2,
            "unrecognized args: [\"b\"]",
        );
        assert_ok(&call(&mut ctx, "action-log", &["--", "step", "1"]), "");
        assert_eq!(
            ctx.immediate,
            vec![ImmediateEffect::ActionLog("step 1".into())]
        );
        assert_err(
            &call(&mut ctx, "action-log", &[]),
            2,
            "no message specified",
        );
        check_table(
            "action-fail",
            plain_hook,
            &[fail(&["x"], "not running an action")],
        );
        check_table(
            "action-log",
            plain_hook,
            &[fail(&["x"], "not running an action")],
        );
    }
}
