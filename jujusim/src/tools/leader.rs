//! `is-leader`, `leader-get`, `leader-set` (spec §4.19–§4.20). Leadership answers are sticky
//! within a context; `leader-set` is immediate and pushes the whole new settings bag.

use super::keyvalue::parse_key_values;
use super::output::Val;
use super::text::{go_quote, unrecognized};
use super::{check_leadership, output_flag, output_flags, smart_output, Call, Tool, ToolError};
use crate::context::ImmediateEffect;

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "is-leader",
        args: "",
        purpose: "Print application leadership status.",
        flags: &OUT,
        run: is_leader,
    },
    Tool {
        name: "leader-get",
        args: "[<key>]",
        purpose: "Print application leadership settings.",
        flags: &OUT,
        run: leader_get,
    },
    Tool {
        name: "leader-set",
        args: "<key>=<value> [...]",
        purpose: "Write application leadership settings.",
        flags: &[],
        run: leader_set,
    },
];

const OUT: [super::flags::Flag; 3] = output_flags("smart");

/// §4.19 `is-leader`.
fn is_leader(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let pos = call.parse(|key, v| output_flag(&mut out, key, &v).unwrap_or(Ok(())))?;
    if !pos.is_empty() {
        return Err(ToolError::Usage(unrecognized(&pos)));
    }
    let leader = check_leadership(call.ctx);
    call.emit(&out, &Val::Bool(leader))
}

/// §4.20 `leader-get`.
fn leader_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let pos = call.parse(|key, v| output_flag(&mut out, key, &v).unwrap_or(Ok(())))?;
    let mut key = String::new();
    if let Some((first, rest)) = pos.split_first() {
        if first != "-" {
            if first.contains('=') {
                return Err(ToolError::Usage(format!("invalid key {}", go_quote(first))));
            }
            key = first.clone();
        }
        if !rest.is_empty() {
            return Err(ToolError::Usage(unrecognized(rest)));
        }
    }
    let settings = &call.ctx.leader_settings;
    let value = if key.is_empty() {
        Val::string_map(settings)
    } else {
        settings
            .get(&key)
            .map(|v| Val::str(v.clone()))
            .unwrap_or(Val::Null)
    };
    call.emit(&out, &value)
}

/// §4.20 `leader-set`: immediate.
fn leader_set(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let pos = call.parse(|_, _| Ok(()))?;
    let settings = parse_key_values(&pos).map_err(ToolError::Usage)?;
    if !check_leadership(call.ctx) {
        return Err(ToolError::Run(
            "cannot write leadership settings: cannot write settings: not the leader".into(),
        ));
    }
    let before = call.ctx.leader_settings.clone();
    for (k, v) in settings {
        if v.is_empty() {
            call.ctx.leader_settings.remove(&k);
        } else {
            call.ctx.leader_settings.insert(k, v);
        }
    }
    if call.ctx.leader_settings != before {
        call.ctx.immediate.push(ImmediateEffect::LeaderSettings(
            call.ctx.leader_settings.clone(),
        ));
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::context::ImmediateEffect;

    #[test]
    fn is_leader_conformance() {
        check_table(
            "is-leader",
            fixture,
            &[
                ok(&[], "True\n"),
                ok(&["--format=json"], "true\n"),
                ok(&["--format=yaml"], "true\n"),
                usage(&["x"], "unrecognized args: [\"x\"]"),
            ],
        );
        let minion = || {
            let mut ctx = fixture();
            ctx.is_leader = false;
            ctx
        };
        check_table(
            "is-leader",
            minion,
            &[ok(&[], "False\n"), ok(&["--format=json"], "false\n")],
        );
    }

    #[test]
    fn leader_settings_are_immediate_and_leader_only() {
        let mut ctx = fixture();
        assert_ok(&call(&mut ctx, "leader-get", &["--format=json"]), "{}\n");
        assert_ok(&call(&mut ctx, "leader-set", &["a=1", "b= two "]), "");
        assert_eq!(
            ctx.immediate,
            vec![ImmediateEffect::LeaderSettings(bag(&[
                ("a", "1"),
                ("b", "two")
            ]))]
        );
        assert_ok(&call(&mut ctx, "leader-get", &["b"]), "two\n");
        assert_ok(
            &call(&mut ctx, "leader-get", &["-", "--format=json"]),
            "{\"a\":\"1\",\"b\":\"two\"}\n",
        );
        assert_ok(
            &call(&mut ctx, "leader-get", &["zz", "--format=json"]),
            "null\n",
        );
        assert_ok(&call(&mut ctx, "leader-set", &["a="]), "");
        assert_eq!(ctx.leader_settings, bag(&[("b", "two")]));
        assert_err(
            &call(&mut ctx, "leader-get", &["a=b"]),
            2,
            "invalid key \"a=b\"",
        );
        assert_err(
            &call(&mut ctx, "leader-set", &["nokey"]),
            2,
            "expected \"key=value\", got \"nokey\"",
        );
        ctx.is_leader = false;
        assert_err(
            &call(&mut ctx, "leader-set", &["a=1"]),
            1,
            "cannot write leadership settings: cannot write settings: not the leader",
        );
        assert_ok(&call(&mut ctx, "leader-get", &["b"]), "two\n");
    }
}
