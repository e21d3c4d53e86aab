//! `relation-get`, `relation-set`, `relation-ids`, `relation-list`, `relation-model-get`
//! (spec §4.1–§4.5, read rules §6.3, visibility §6.5). Writes go to the local view and to the
//! pending maps the runner commits on exit 0; committed state is never touched here.

use super::flags::{Flag, FlagValue, Key};
use super::keyvalue::{merge, parse_key_values, parse_settings_file};
use super::output::{io_text, Val};
use super::text::{go_quote, unrecognized};
use super::{
    check_leadership, output_flag, output_flags, relation_flags, smart_output, Call, Tool,
    ToolError,
};
use crate::context::{Bag, RelationView};

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "relation-get",
        args: "<key> <unit id>",
        purpose: "Get relation settings.",
        flags: &RELATION_GET_FLAGS,
        run: relation_get,
    },
    Tool {
        name: "relation-set",
        args: "key=value [key=value ...]",
        purpose: "Set relation settings.",
        flags: &RELATION_SET_FLAGS,
        run: relation_set,
    },
    Tool {
        name: "relation-ids",
        args: "<name>",
        purpose: "List all relation ids for the given endpoint.",
        flags: &OUT_ONLY,
        run: relation_ids,
    },
    Tool {
        name: "relation-list",
        args: "",
        purpose: "List relation units.",
        flags: &RELATION_LIST_FLAGS,
        run: relation_list,
    },
    Tool {
        name: "relation-model-get",
        args: "",
        purpose: "Get details about the model hosing a related application.",
        flags: &RELATION_MODEL_FLAGS,
        run: relation_model_get,
    },
];

const OUT: [Flag; 3] = output_flags("smart");
const REL: [Flag; 2] = relation_flags();
const OUT_ONLY: [Flag; 3] = OUT;
const APP: Flag = Flag::switch(
    "app",
    Key::App,
    "Get the relation data for the overall application, not just a unit",
);
const RELATION_GET_FLAGS: [Flag; 6] = [OUT[0], OUT[1], OUT[2], REL[0], REL[1], APP];
const RELATION_SET_FLAGS: [Flag; 5] = [
    REL[0],
    REL[1],
    Flag::switch(
        "app",
        Key::App,
        "pick whether you are setting \"application\" settings or \"unit\" settings",
    ),
    Flag::value("file", Key::File, "", "file containing key-value pairs"),
    Flag::value("format", Key::Format, "", "deprecated format flag"),
];
const RELATION_LIST_FLAGS: [Flag; 6] = [
    OUT[0],
    OUT[1],
    OUT[2],
    REL[0],
    REL[1],
    Flag::switch(
        "app",
        Key::App,
        "List remote application instead of participating units",
    ),
];
const RELATION_MODEL_FLAGS: [Flag; 5] = [OUT[0], OUT[1], OUT[2], REL[0], REL[1]];

/// Juju's application name rule, `^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$`: segments
/// split by `-`, the first starting with a letter, every later one holding a letter.
pub(crate) fn is_valid_app(s: &str) -> bool {
    let lower_or_digit = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut segments = s.split('-');
    let first_ok = segments.next().is_some_and(|first| {
        first.starts_with(|c: char| c.is_ascii_lowercase()) && first.chars().all(lower_or_digit)
    });
    first_ok
        && segments.all(|seg| {
            !seg.is_empty()
                && seg.chars().all(lower_or_digit)
                && seg.chars().any(|c| c.is_ascii_lowercase())
        })
}

/// Juju's unit name rule: `<application>/<number>` without leading zeros.
pub(crate) fn is_valid_unit(s: &str) -> bool {
    let Some((app, number)) = s.split_once('/') else {
        return false;
    };
    let number_ok = number == "0"
        || (!number.is_empty()
            && !number.starts_with('0')
            && number.bytes().all(|b| b.is_ascii_digit()));
    is_valid_app(app) && number_ok
}

fn app_of(unit: &str) -> &str {
    unit.split('/').next().unwrap_or(unit)
}

fn no_relation() -> ToolError {
    ToolError::Usage("no relation id specified".to_string())
}

/// The relation a checked id names (ids are validated while parsing `-r`).
fn view<'c>(call: &'c Call, id: u64) -> Result<&'c RelationView, ToolError> {
    call.ctx
        .relations
        .get(&id)
        .ok_or_else(|| ToolError::Run("relation not found".to_string()))
}

fn without_empty(bag: &Bag) -> Bag {
    bag.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// §4.1 `relation-get`.
fn relation_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let mut rel = call.ctx.relation_id;
    let mut app = false;
    let pos = {
        let c = &*call;
        c.parse(|key, v| {
            if let Some(r) = output_flag(&mut out, key, &v) {
                return r;
            }
            match key {
                Key::Relation => rel = Some(c.relation_id(v)?),
                Key::App => app = v == FlagValue::Bool(true),
                _ => {}
            }
            Ok(())
        })?
    };
    let id = rel.ok_or_else(no_relation)?;
    let mut rest = pos.as_slice();
    let mut key = String::new();
    if let Some((first, tail)) = rest.split_first() {
        key = if first == "-" {
            String::new()
        } else {
            first.clone()
        };
        rest = tail;
    }
    let target = if let Some((given, tail)) = rest.split_first() {
        rest = tail;
        if app {
            if is_valid_app(given) {
                given.clone()
            } else if is_valid_unit(given) {
                app_of(given).to_string()
            } else {
                return Err(ToolError::Usage(format!(
                    "invalid unit or application name {}",
                    go_quote(given)
                )));
            }
        } else if is_valid_unit(given) {
            given.clone()
        } else if is_valid_app(given) {
            return Err(ToolError::Usage(format!(
                "expected unit name, got application name {}",
                go_quote(given)
            )));
        } else {
            return Err(ToolError::Usage(format!(
                "invalid unit name {}",
                go_quote(given)
            )));
        }
    } else if app {
        call.ctx
            .remote_app
            .clone()
            .ok_or_else(|| ToolError::Usage("no unit or application specified".into()))?
    } else if let Some(unit) = call.ctx.remote_unit.clone() {
        unit
    } else if let Some(remote_app) = call.ctx.remote_app.clone() {
        app = true;
        remote_app
    } else {
        return Err(ToolError::Usage("no unit or application specified".into()));
    };
    if !rest.is_empty() {
        return Err(ToolError::Usage(unrecognized(rest)));
    }
    let settings = read_settings(call, id, &target, app)?;
    let value = if key.is_empty() {
        Val::string_map(&settings)
    } else {
        settings
            .get(&key)
            .map(|v| Val::str(v.clone()))
            .unwrap_or(Val::Null)
    };
    call.emit(&out, &value)
}

/// The read rules of §4.1 "Where the data comes from" and §6.3.
fn read_settings(call: &mut Call, id: u64, target: &str, app: bool) -> Result<Bag, ToolError> {
    let denied = || ToolError::Run("permission denied".to_string());
    let (local_unit, local_app) = (call.ctx.unit.clone(), call.ctx.app.clone());
    if app {
        if target == local_app {
            let is_peer = view(call, id)?.is_peer;
            // The leader reads its in-memory bag; others only through the controller, which
            // allows it in peer relations only.
            if !is_peer && !check_leadership(call.ctx) {
                return Err(denied());
            }
            return Ok(without_empty(&view(call, id)?.local_app_bag));
        }
        let r = view(call, id)?;
        if target == r.remote_app {
            return Ok(without_empty(&r.remote_app_bag));
        }
        return Err(denied());
    }
    let r = view(call, id)?;
    if target == local_unit {
        return Ok(without_empty(&r.local_unit_bag));
    }
    if app_of(target) != r.remote_app {
        return Err(denied());
    }
    match r.remote_unit_bags.get(target) {
        Some(bag) => Ok(without_empty(bag)),
        None => Err(ToolError::Run(format!(
            "cannot read settings for unit {} in relation {}: unit {}: settings not found",
            go_quote(target),
            go_quote(&relation_key(call, r)),
            go_quote(target)
        ))),
    }
}

/// Juju's relation key as far as this context knows it: `<app>:<endpoint>` for peers, else both
/// sides (the remote endpoint name is not in the context, so the interface stands in for it).
fn relation_key(call: &Call, r: &RelationView) -> String {
    if r.is_peer {
        format!("{}:{}", call.ctx.app, r.endpoint)
    } else {
        format!(
            "{}:{} {}:{}",
            r.remote_app, r.interface, call.ctx.app, r.endpoint
        )
    }
}

/// Reads `--file` (a path relative to cwd, or `-` for stdin).
pub(crate) fn read_file_arg(call: &Call, file: &str) -> Result<Vec<u8>, ToolError> {
    if file == "-" {
        return Ok(call.stdin.map(<[u8]>::to_vec).unwrap_or_default());
    }
    let path = super::text::abs_path(call.cwd, file);
    std::fs::read(&path)
        .map_err(|e| ToolError::Run(format!("open {}: {}", path.display(), io_text(&e))))
}

/// §4.2 `relation-set`: buffered in the local view and the pending map.
fn relation_set(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut rel = call.ctx.relation_id;
    let mut app = false;
    let mut file: Option<String> = None;
    let mut format_flag = String::new();
    let pos = {
        let c = &*call;
        c.parse(|key, v| {
            match (key, v) {
                (Key::Relation, v) => rel = Some(c.relation_id(v)?),
                (Key::App, v) => app = v == FlagValue::Bool(true),
                (Key::File, FlagValue::Text(f)) => file = Some(f),
                (Key::Format, FlagValue::Text(f)) => format_flag = f,
                _ => {}
            }
            Ok(())
        })?
    };
    let id = rel.ok_or_else(no_relation)?;
    let overrides = parse_key_values(&pos).map_err(ToolError::Usage)?;
    if !format_flag.is_empty() {
        call.stderr
            .extend_from_slice(b"--format flag deprecated for command \"relation-set\"");
    }
    let from_file = match file.as_deref() {
        Some(f) if !f.is_empty() => {
            parse_settings_file(&read_file_arg(call, f)?).map_err(ToolError::Run)?
        }
        _ => Default::default(),
    };
    let settings = merge(from_file, overrides);
    if app && !check_leadership(call.ctx) {
        return Err(ToolError::Run("cannot write relation settings".to_string()));
    }
    let r = call
        .ctx
        .relations
        .get_mut(&id)
        .ok_or_else(|| ToolError::Run("relation not found".into()))?;
    let (bag, pending) = if app {
        (&mut r.local_app_bag, &mut r.pending_app_writes)
    } else {
        (&mut r.local_unit_bag, &mut r.pending_unit_writes)
    };
    for (k, v) in settings {
        if v.is_empty() {
            bag.remove(&k);
            pending.insert(k, None);
        } else {
            bag.insert(k.clone(), v.clone());
            pending.insert(k, Some(v));
        }
    }
    Ok(Vec::new())
}

/// §4.3 `relation-ids`: sorted as strings, broken relations omitted.
fn relation_ids(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let pos = call.parse(|key, v| output_flag(&mut out, key, &v).unwrap_or(Ok(())))?;
    let default = call
        .ctx
        .relation_id
        .and_then(|id| call.ctx.relations.get(&id))
        .map(|r| r.endpoint.clone());
    let (endpoint, rest) = match pos.split_first() {
        Some((e, rest)) => (e.clone(), rest),
        None => match default {
            Some(e) => (e, &pos[..]),
            None => return Err(ToolError::Usage("no endpoint name specified".into())),
        },
    };
    if !rest.is_empty() {
        return Err(ToolError::Usage(unrecognized(rest)));
    }
    let mut ids: Vec<String> = call
        .ctx
        .relations
        .values()
        .filter(|r| r.endpoint == endpoint && !r.broken)
        .map(|r| format!("{}:{}", r.endpoint, r.id))
        .collect();
    ids.sort();
    call.emit(&out, &Val::StrList(ids))
}

/// §4.4 `relation-list`.
fn relation_list(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let mut rel = call.ctx.relation_id;
    let mut app = false;
    let pos = {
        let c = &*call;
        c.parse(|key, v| {
            if let Some(r) = output_flag(&mut out, key, &v) {
                return r;
            }
            match key {
                Key::Relation => rel = Some(c.relation_id(v)?),
                Key::App => app = v == FlagValue::Bool(true),
                _ => {}
            }
            Ok(())
        })?
    };
    let id = rel.ok_or_else(no_relation)?;
    if !pos.is_empty() {
        return Err(ToolError::Usage(unrecognized(&pos)));
    }
    let r = view(call, id)?;
    let value = if app {
        Val::str(r.remote_app.clone())
    } else if r.broken {
        Val::StrList(Vec::new())
    } else {
        Val::StrList(
            r.members
                .iter()
                .filter(|m| **m != call.ctx.unit)
                .cloned()
                .collect(),
        )
    };
    call.emit(&out, &value)
}

/// §4.5 `relation-model-get`.
fn relation_model_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let mut rel = call.ctx.relation_id;
    let pos = {
        let c = &*call;
        c.parse(|key, v| {
            if let Some(r) = output_flag(&mut out, key, &v) {
                return r;
            }
            if key == Key::Relation {
                rel = Some(c.relation_id(v)?);
            }
            Ok(())
        })?
    };
    let id = rel.ok_or_else(no_relation)?;
    if !pos.is_empty() {
        return Err(ToolError::Usage(unrecognized(&pos)));
    }
    let uuid = view(call, id)?.remote_model_uuid.clone();
    call.emit(&out, &Val::Map(vec![("uuid".to_string(), Val::Str(uuid))]))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    proptest::proptest! {
        #[test]
        fn name_rules_match_juju_regexes(s in "[a-z0-9/-]{0,10}|[a-zA-Z0-9/_.-]{0,6}") {
            let unit = regex::Regex::new(r"^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*/(0|[1-9][0-9]*)$").unwrap();
            let app = regex::Regex::new(r"^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$").unwrap();
            proptest::prop_assert_eq!(super::is_valid_unit(&s), unit.is_match(&s), "unit {:?}", s);
            proptest::prop_assert_eq!(super::is_valid_app(&s), app.is_match(&s), "app {:?}", s);
        }
    }

    const ALL_WEB0: &str =
        "{\"hostname\":\"198.18.1.1\",\"port\":\"80\",\"private-address\":\"198.18.1.1\"}\n";

    #[test]
    fn relation_get_conformance() {
        check_table(
            "relation-get",
            fixture,
            &[
                // Defaults: the hook's relation and remote unit, all keys, smart = YAML map.
                ok(&[], "hostname: 198.18.1.1\nport: \"80\"\nprivate-address: 198.18.1.1\n"),
                ok(&["--format=json"], ALL_WEB0),
                ok(&["port"], "80\n"),
                ok(&["--format=json", "port"], "\"80\"\n"),
                ok(&["--format=json", "missing"], "null\n"),
                ok(&["missing"], ""),
                ok(&["--format=yaml", "missing"], ""),
                ok(&["--format", "yaml", "port"], "\"80\"\n"),
                ok(&["-", "web/1", "--format=json"], "{\"hostname\":\"198.18.1.2\",\"port\":\"8080\"}\n"),
                // Departed units stay readable (§6.3).
                ok(&["hostname", "web/2"], "198.18.1.3\n"),
                // Own unit bag.
                ok(&["mine", "lb/0"], "1\n"),
                // App bags.
                ok(&["--app", "--format=json"], "{\"services\":\"- {service_name: web}\"}\n"),
                ok(&["--app", "--format=json", "-", "web/7"], "{\"services\":\"- {service_name: web}\"}\n"),
                ok(&["--app=true", "--format=json", "-", "lb"], "{\"published\":\"yes\"}\n"),
                ok(&["--format=json", "-r", "10", "-", "api/0"], "{\"port\":\"9000\"}\n"),
                ok(&["--format=json", "-r", "reverseproxy:10", "port", "api/0"], "\"9000\"\n"),
                ok(&["--format=json", "-r1", "-", "lb/1"], "{\"peer\":\"one\"}\n"),
                ok(&["--format=json", "--relation=1", "--app", "-", "lb"], "{\"shared\":\"s\"}\n"),
                // -o writes nothing to stdout when the path is absolute.
                // Errors.
                usage(&["-r", "x"], "invalid value \"x\" for option -r: invalid relation id"),
                usage(&["-r=2"], "invalid value \"=2\" for option -r: invalid relation id"),
                usage(&["-r", "99"], "invalid value \"99\" for option -r: relation not found"),
                usage(&["--relation", "website:2"], "invalid value \"website:2\" for option --relation: relation not found"),
                usage(&["-", "web"], "expected unit name, got application name \"web\""),
                usage(&["-", "Web!"], "invalid unit name \"Web!\""),
                usage(&["--app", "-", "Web!"], "invalid unit or application name \"Web!\""),
                usage(&["a", "web/0", "extra"], "unrecognized args: [\"extra\"]"),
                // `--app false`: "false" is the key, not the flag's value (§3).
                ok(&["--app", "false"], ""),
                usage(&["-app"], "option provided but not defined: -a"),
                usage(&["--foo"], "option provided but not defined: --foo"),
                usage(&["--format=xml"], "invalid value \"xml\" for option --format: unknown format \"xml\""),
                usage(&["-r"], "option needs an argument: -r"),
                fail(&["-", "other/0"], "permission denied"),
                fail(&["-", "lb/1"], "permission denied"),
                fail(&["-", "web/5"], "cannot read settings for unit \"web/5\" in relation \"web:http lb:reverseproxy\": unit \"web/5\": settings not found"),
                fail(&["--app", "-", "other"], "permission denied"),
            ],
        );
    }

    #[test]
    fn relation_get_defaults_follow_the_hook_context() {
        // -created/-broken/app-changed: no remote unit, so the remote app bag is read.
        let no_unit = || {
            let mut ctx = fixture();
            ctx.remote_unit = None;
            ctx
        };
        check_table(
            "relation-get",
            no_unit,
            &[ok(
                &["--format=json"],
                "{\"services\":\"- {service_name: web}\"}\n",
            )],
        );
        check_table(
            "relation-get",
            plain_hook,
            &[
                usage(&[], "no relation id specified"),
                usage(&["-r", "2"], "no unit or application specified"),
                usage(&["-r", "2", "--app"], "no unit or application specified"),
                ok(&["-r", "2", "port", "web/0"], "80\n"),
            ],
        );
    }

    #[test]
    fn non_leader_reads_own_app_bag_only_in_peer_relations() {
        let minion = || {
            let mut ctx = fixture();
            ctx.is_leader = false;
            ctx
        };
        check_table(
            "relation-get",
            minion,
            &[
                fail(&["--app", "-", "lb"], "permission denied"),
                ok(
                    &["-r", "1", "--app", "--format=json", "-", "lb"],
                    "{\"shared\":\"s\"}\n",
                ),
            ],
        );
    }

    #[test]
    fn relation_set_buffers_in_local_view_and_pending_map_only() {
        let mut ctx = fixture();
        let before = ctx.clone();
        assert_ok(
            &call(&mut ctx, "relation-set", &["a=1", " b = two ", "mine="]),
            "",
        );
        let r = &ctx.relations[&2];
        assert_eq!(r.local_unit_bag.get("a").map(String::as_str), Some("1"));
        assert_eq!(r.local_unit_bag.get("b").map(String::as_str), Some("two"));
        assert!(!r.local_unit_bag.contains_key("mine"));
        assert_eq!(r.pending_unit_writes.get("a"), Some(&Some("1".to_string())));
        assert_eq!(r.pending_unit_writes.get("mine"), Some(&None));
        // Nothing else changed: committed-side fields are the runner's.
        let mut expect = before.clone();
        expect.relations.get_mut(&2).unwrap().local_unit_bag = r.local_unit_bag.clone();
        expect.relations.get_mut(&2).unwrap().pending_unit_writes = r.pending_unit_writes.clone();
        assert_eq!(ctx, expect);
        // The same hook reads its own write back.
        assert_ok(&call(&mut ctx, "relation-get", &["a", "lb/0"]), "1\n");
        assert!(ctx.immediate.is_empty());
    }

    #[test]
    fn relation_set_file_and_args_merge_with_args_winning() {
        let mut ctx = fixture();
        let out = call_stdin(
            &mut ctx,
            "relation-set",
            &["-r", "reverseproxy:10", "--app", "--file", "-", "y=arg"],
            Some("{\"x\": \"1\", \"y\": \"file\", \"port\": 80, \"gone\": null}"),
        );
        assert_ok(&out, "");
        let r = &ctx.relations[&10];
        assert_eq!(
            r.local_app_bag,
            bag(&[("port", "80"), ("x", "1"), ("y", "arg")])
        );
        assert_eq!(r.pending_app_writes.get("gone"), Some(&None));
        // ≤ 3.3 sends YAML on stdin.
        let out = call_stdin(
            &mut ctx,
            "relation-set",
            &["-r", "10", "--file", "-"],
            Some("a: '1'\nb: multi word\n"),
        );
        assert_ok(&out, "");
        assert_eq!(
            ctx.relations[&10]
                .local_unit_bag
                .get("b")
                .map(String::as_str),
            Some("multi word")
        );
    }

    #[test]
    fn relation_set_errors() {
        check_table(
            "relation-set",
            plain_hook,
            &[
                usage(&["a=1"], "no relation id specified"),
                usage(&["-r", "2", "foo"], "expected \"key=value\", got \"foo\""),
                usage(
                    &["-r", "2", "k=1", "k=2"],
                    "key \"k\" specified more than once",
                ),
                usage(
                    &["-r", "2", "--format=json", "--bad"],
                    "option provided but not defined: --bad",
                ),
                ok(&["-r", "2"], ""),
            ],
        );
        let mut ctx = fixture();
        let out = call_stdin(
            &mut ctx,
            "relation-set",
            &["--file", "-"],
            Some("a: {b: c}\n"),
        );
        assert_err(
            &out,
            1,
            "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into string",
        );
        let out = call(&mut ctx, "relation-set", &["--file", "does-not-exist.yaml"]);
        assert_err(
            &out,
            1,
            "open /nonexistent-cwd/does-not-exist.yaml: no such file or directory",
        );
        // Deprecated --format: warning without newline, still exit 0.
        let out = call(&mut ctx, "relation-set", &["--format", "json", "k=v"]);
        assert_eq!(
            (out.code, out.stderr.as_slice()),
            (
                0,
                &b"--format flag deprecated for command \"relation-set\""[..]
            )
        );
    }

    #[test]
    fn relation_set_app_needs_leadership_and_is_sticky() {
        let mut ctx = fixture();
        ctx.is_leader = false;
        assert_err(
            &call(&mut ctx, "relation-set", &["--app", "k=v"]),
            1,
            "cannot write relation settings",
        );
        assert!(ctx.leadership_denied);
        assert!(ctx.relations[&2].pending_app_writes.is_empty());
        // Sticky: even if the lease came back, this context stays a minion.
        ctx.is_leader = true;
        assert_err(
            &call(&mut ctx, "relation-set", &["--app", "k=v"]),
            1,
            "cannot write relation settings",
        );
        assert_ok(&call(&mut ctx, "is-leader", &[]), "False\n");
    }

    #[test]
    fn relation_ids_conformance() {
        check_table(
            "relation-ids",
            fixture,
            &[
                ok(&[], "reverseproxy:10\nreverseproxy:2\n"),
                ok(
                    &["--format=json"],
                    "[\"reverseproxy:10\",\"reverseproxy:2\"]\n",
                ),
                ok(&["peers", "--format=json"], "[\"peers:1\"]\n"),
                ok(&["website", "--format=json"], "[]\n"),
                ok(&["website"], ""),
                ok(&["nope", "--format=json"], "[]\n"),
                usage(&["a", "b"], "unrecognized args: [\"b\"]"),
                usage(&["-r", "2"], "option provided but not defined: -r"),
            ],
        );
        check_table(
            "relation-ids",
            plain_hook,
            &[usage(&[], "no endpoint name specified")],
        );
    }

    #[test]
    fn relation_list_conformance() {
        check_table(
            "relation-list",
            fixture,
            &[
                ok(&[], "web/0\nweb/1\n"),
                ok(&["--format=json"], "[\"web/0\",\"web/1\"]\n"),
                ok(&["-r", "1", "--format=json"], "[\"lb/1\"]\n"),
                ok(&["-r", "3", "--format=json"], "[]\n"),
                ok(&["--app", "--format=json"], "\"web\"\n"),
                ok(&["--app", "-r", "1"], "lb\n"),
                usage(&["extra"], "unrecognized args: [\"extra\"]"),
                usage(&["--app", "false"], "unrecognized args: [\"false\"]"),
            ],
        );
        check_table(
            "relation-list",
            plain_hook,
            &[usage(&[], "no relation id specified")],
        );
    }

    #[test]
    fn relation_model_get_conformance() {
        check_table(
            "relation-model-get",
            fixture,
            &[
                ok(
                    &["--format=json"],
                    "{\"uuid\":\"6b8e1c6e-0000-4000-8000-000000000001\"}\n",
                ),
                ok(&[], "uuid: 6b8e1c6e-0000-4000-8000-000000000001\n"),
                usage(
                    &["-r", "5"],
                    "invalid value \"5\" for option -r: relation not found",
                ),
            ],
        );
    }

    #[test]
    fn output_file_is_written_relative_to_cwd() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = fixture();
        let args: Vec<String> = ["--format=json", "-o", "out.json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = super::super::run("relation-get", &args, dir.path(), None, &mut ctx);
        assert_ok(&out, "");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.json")).unwrap(),
            ALL_WEB0
        );
    }

    #[test]
    fn relaxed_mode_ignores_the_endpoint_prefix_like_juju() {
        let mut ctx = fixture();
        let args: Vec<String> = ["-r", "website:2", "port"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let opts = super::super::RunOptions {
            strict_relation_prefix: false,
        };
        let out = super::super::run_with(
            opts,
            "relation-get",
            &args,
            std::path::Path::new("/"),
            None,
            &mut ctx,
        );
        assert_ok(&out, "80\n");
    }
}
