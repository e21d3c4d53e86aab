//! `state-get`, `state-set`, `state-delete` (spec §4.21): charm state held in the context with
//! pending changes applied; the runner commits it on exit 0.

use super::flags::{FlagValue, Key};
use super::keyvalue::{merge, parse_key_values, parse_settings_file};
use super::output::Val;
use super::relation::read_file_arg;
use super::text::{go_quote, unrecognized};
use super::{output_flag, output_flags, smart_output, Call, Tool, ToolError};

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "state-get",
        args: "[<key>]",
        purpose: "Print charm data from the controller.",
        flags: &STATE_GET_FLAGS,
        run: state_get,
    },
    Tool {
        name: "state-set",
        args: "key=value [key=value ...]",
        purpose: "Set charm data on the controller.",
        flags: &STATE_SET_FLAGS,
        run: state_set,
    },
    Tool {
        name: "state-delete",
        args: "<key>",
        purpose: "Delete server-side-state key value pairs.",
        flags: &[],
        run: state_delete,
    },
];

const OUT: [super::flags::Flag; 3] = output_flags("smart");
const STATE_GET_FLAGS: [super::flags::Flag; 4] = [
    OUT[0],
    OUT[1],
    OUT[2],
    super::flags::Flag::switch(
        "strict",
        Key::Strict,
        "Return an error if the requested key does not exist",
    ),
];
const STATE_SET_FLAGS: [super::flags::Flag; 1] = [super::flags::Flag::value(
    "file",
    Key::File,
    "",
    "file containing key-value pairs",
)];

const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 65536;

fn state_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let mut strict = false;
    let pos = call.parse(|key, v| {
        if let Some(r) = output_flag(&mut out, key, &v) {
            return r;
        }
        if key == Key::Strict {
            strict = v == FlagValue::Bool(true);
        }
        Ok(())
    })?;
    let mut key = String::new();
    if let Some((first, rest)) = pos.split_first() {
        if first != "-" {
            key = first.clone();
        }
        if !rest.is_empty() {
            return Err(ToolError::Usage(unrecognized(rest)));
        }
    }
    let value = if key.is_empty() {
        if call.ctx.charm_state_exists {
            Val::string_map(&call.ctx.charm_state)
        } else {
            Val::NilMap
        }
    } else {
        match call.ctx.charm_state.get(&key) {
            Some(v) => Val::str(v.clone()),
            None if strict => return Err(ToolError::Run(format!("{} not found", go_quote(&key)))),
            None => Val::str(""),
        }
    };
    call.emit(&out, &value)
}

fn state_set(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut file: Option<String> = None;
    let pos = call.parse(|key, v| {
        if let (Key::File, FlagValue::Text(f)) = (key, v) {
            file = Some(f);
        }
        Ok(())
    })?;
    let overrides = parse_key_values(&pos).map_err(ToolError::Usage)?;
    let from_file = match file.as_deref() {
        Some(f) if !f.is_empty() => {
            parse_settings_file(&read_file_arg(call, f)?).map_err(ToolError::Run)?
        }
        _ => Default::default(),
    };
    let settings = merge(from_file, overrides);
    for (k, v) in &settings {
        if k.len() > MAX_KEY {
            return Err(ToolError::Run(format!(
                "max allowed key length ({MAX_KEY}) exceeded"
            )));
        }
        if v.len() > MAX_VALUE {
            return Err(ToolError::Run(format!(
                "max allowed value length ({MAX_VALUE}) exceeded"
            )));
        }
    }
    for (k, v) in settings {
        if v.is_empty() {
            call.ctx.charm_state.remove(&k);
        } else {
            call.ctx.charm_state.insert(k, v);
        }
        call.ctx.charm_state_exists = true;
    }
    Ok(Vec::new())
}

fn state_delete(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let pos = call.parse(|_, _| Ok(()))?;
    if let Some((key, rest)) = pos.split_first() {
        if !rest.is_empty() {
            return Err(ToolError::Usage(unrecognized(rest)));
        }
        call.ctx.charm_state.remove(key);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn state_get_without_state_is_null() {
        check_table(
            "state-get",
            fixture,
            &[
                ok(&["--format=json"], "null\n"),
                ok(&["--format=yaml"], "{}\n"),
                ok(&["k", "--format=json"], "\"\"\n"),
                ok(&["k"], ""),
                fail(&["--strict", "k"], "\"k\" not found"),
                usage(&["a", "b"], "unrecognized args: [\"b\"]"),
            ],
        );
    }

    #[test]
    fn state_set_get_delete_round_trip() {
        let mut ctx = fixture();
        assert_ok(&call(&mut ctx, "state-set", &[]), "");
        assert!(!ctx.charm_state_exists);
        let out = call_stdin(
            &mut ctx,
            "state-set",
            &["--file", "-", "b=arg"],
            Some("{\"a\": \"{\\\"x\\\": 1}\", \"b\": \"file\"}"),
        );
        assert_ok(&out, "");
        assert_ok(
            &call(&mut ctx, "state-get", &["--format=json"]),
            "{\"a\":\"{\\\"x\\\": 1}\",\"b\":\"arg\"}\n",
        );
        assert_ok(&call(&mut ctx, "state-get", &["a"]), "{\"x\": 1}\n");
        assert_ok(&call(&mut ctx, "state-delete", &["a"]), "");
        assert_ok(&call(&mut ctx, "state-delete", &["missing"]), "");
        assert_ok(&call(&mut ctx, "state-delete", &[]), "");
        assert_ok(
            &call(&mut ctx, "state-get", &["--format=json"]),
            "{\"b\":\"arg\"}\n",
        );
        assert_ok(&call(&mut ctx, "state-delete", &["b"]), "");
        assert_ok(&call(&mut ctx, "state-get", &["--format=json"]), "{}\n");
    }

    #[test]
    fn state_set_enforces_size_limits() {
        let mut ctx = fixture();
        let long_key = format!("{}=v", "k".repeat(257));
        let long_value = format!("k={}", "v".repeat(65537));
        assert_err(
            &call(&mut ctx, "state-set", &[&long_key]),
            1,
            "max allowed key length (256) exceeded",
        );
        assert_err(
            &call(&mut ctx, "state-set", &[&long_value]),
            1,
            "max allowed value length (65536) exceeded",
        );
        let ok_key = format!("{}=v", "k".repeat(256));
        assert_ok(&call(&mut ctx, "state-set", &[&ok_key]), "");
    }
}
