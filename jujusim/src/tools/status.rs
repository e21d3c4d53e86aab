//! `status-set`, `status-get`, `application-version-set` (spec §4.9–§4.11). Status and version
//! are immediate (§1.5): each call updates the context field it mirrors and pushes an
//! `ImmediateEffect` for the runner to apply at once.

use super::flags::{Flag, FlagValue, Key};
use super::output::Val;
use super::text::{go_quote, unrecognized};
use super::{check_leadership, output_flag, output_flags, smart_output, Call, Tool, ToolError};
use crate::context::{ImmediateEffect, Status};
use std::collections::BTreeMap;

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "status-set",
        args: "<maintenance | blocked | waiting | active> [message]",
        purpose: "Set status information.",
        flags: &STATUS_SET_FLAGS,
        run: status_set,
    },
    Tool {
        name: "status-get",
        args: "[--include-data] [--application]",
        purpose: "Print status information.",
        flags: &STATUS_GET_FLAGS,
        run: status_get,
    },
    Tool {
        name: "application-version-set",
        args: "<new-version>",
        purpose: "Specify which version of the application is deployed.",
        flags: &[],
        run: application_version_set,
    },
];

const OUT: [Flag; 3] = output_flags("smart");
const STATUS_SET_FLAGS: [Flag; 1] = [Flag::switch(
    "application",
    Key::Application,
    "set this status for the application to which the unit belongs if the unit is the leader",
)];
const STATUS_GET_FLAGS: [Flag; 5] = [
    OUT[0],
    OUT[1],
    OUT[2],
    Flag::switch("include-data", Key::IncludeData, "print all status data"),
    Flag::switch(
        "application",
        Key::Application,
        "print status for all units of this application if this unit is the leader",
    ),
];

const SETTABLE: [&str; 4] = ["maintenance", "blocked", "waiting", "active"];

/// §4.9 `status-set`: immediate.
fn status_set(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut application = false;
    let pos = call.parse(|key, v| {
        if key == Key::Application {
            application = v == FlagValue::Bool(true);
        }
        Ok(())
    })?;
    let Some((status, rest)) = pos.split_first() else {
        return Err(ToolError::Usage(
            "invalid args, require <status> [message]".into(),
        ));
    };
    if !SETTABLE.contains(&status.as_str()) {
        return Err(ToolError::Usage(format!(
            "invalid status {}, expected one of [{}]",
            go_quote(status),
            SETTABLE.join(" ")
        )));
    }
    let mut message = String::new();
    if let Some((m, extra)) = rest.split_first() {
        message = m.clone();
        if !extra.is_empty() {
            return Err(ToolError::Usage(unrecognized(extra)));
        }
    }
    let new = Status {
        status: status.clone(),
        message,
        data: BTreeMap::new(),
    };
    if application {
        if !check_leadership(call.ctx) {
            return Err(ToolError::Run("this unit is not the leader".into()));
        }
        call.ctx.app_status = new.clone();
        call.ctx.immediate.push(ImmediateEffect::AppStatus(new));
    } else {
        call.ctx.unit_status = new.clone();
        call.ctx
            .unit_statuses
            .insert(call.ctx.unit.clone(), new.clone());
        call.ctx.immediate.push(ImmediateEffect::UnitStatus(new));
    }
    Ok(Vec::new())
}

/// The fields of one status entry as `status-get` prints it.
fn status_fields(s: &Status, include_data: bool) -> Vec<(String, Val)> {
    if !include_data {
        return vec![("status".into(), Val::str(s.status.clone()))];
    }
    let data: Vec<(String, Val)> = s
        .data
        .iter()
        .map(|(k, v)| (k.clone(), Val::from_json(v)))
        .collect();
    vec![
        ("message".into(), Val::str(s.message.clone())),
        ("status".into(), Val::str(s.status.clone())),
        ("status-data".into(), Val::Map(data)),
    ]
}

/// §4.10 `status-get`.
fn status_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let (mut include_data, mut application) = (false, false);
    let pos = call.parse(|key, v| {
        if let Some(r) = output_flag(&mut out, key, &v) {
            return r;
        }
        match key {
            Key::IncludeData => include_data = v == FlagValue::Bool(true),
            Key::Application => application = v == FlagValue::Bool(true),
            _ => {}
        }
        Ok(())
    })?;
    if !pos.is_empty() {
        return Err(ToolError::Usage(unrecognized(&pos)));
    }
    let value = if application {
        if !check_leadership(call.ctx) {
            return Err(ToolError::Run(
                "finding application status: this unit is not the leader".into(),
            ));
        }
        let mut app = status_fields(&call.ctx.app_status, include_data);
        let units: Vec<(String, Val)> = call
            .ctx
            .unit_statuses
            .iter()
            .map(|(u, s)| (u.clone(), Val::Map(status_fields(s, include_data))))
            .collect();
        app.push(("units".into(), Val::Map(units)));
        Val::Map(vec![("application-status".into(), Val::Map(app))])
    } else if !include_data && out.format == super::output::Format::Smart {
        // smart without --include-data prints just the status word.
        Val::str(call.ctx.unit_status.status.clone())
    } else {
        Val::Map(status_fields(&call.ctx.unit_status, include_data))
    };
    call.emit(&out, &value)
}

/// §4.11 `application-version-set`: immediate.
fn application_version_set(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let pos = call.parse(|_, _| Ok(()))?;
    let Some((version, rest)) = pos.split_first() else {
        return Err(ToolError::Usage("no version specified".into()));
    };
    if !rest.is_empty() {
        return Err(ToolError::Usage(unrecognized(rest)));
    }
    call.ctx
        .immediate
        .push(ImmediateEffect::WorkloadVersion(version.clone()));
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::context::{ImmediateEffect, Status};

    #[test]
    fn status_set_conformance() {
        check_table(
            "status-set",
            fixture,
            &[
                ok(&["active"], ""),
                ok(&["--application=False", "blocked", "need relation"], ""),
                ok(&["--application=false", "waiting", "--", "-starts with dash"], ""),
                usage(&[], "invalid args, require <status> [message]"),
                usage(&["error"], "invalid status \"error\", expected one of [maintenance blocked waiting active]"),
                usage(&["unknown", "x"], "invalid status \"unknown\", expected one of [maintenance blocked waiting active]"),
                usage(&["active", "a", "b"], "unrecognized args: [\"b\"]"),
                usage(&["--application", "false", "active"], "invalid status \"false\", expected one of [maintenance blocked waiting active]"),
                usage(&["--application=maybe", "active"], "invalid value \"maybe\" for option --application: strconv.ParseBool: parsing \"maybe\": invalid syntax"),
                usage(&["--format=json", "active"], "option provided but not defined: --format"),
            ],
        );
    }

    #[test]
    fn status_set_is_immediate_and_updates_the_context() {
        let mut ctx = fixture();
        assert_ok(
            &call(
                &mut ctx,
                "status-set",
                &["--application=False", "blocked", "--", "multi\nline"],
            ),
            "",
        );
        let want = Status {
            status: "blocked".into(),
            message: "multi\nline".into(),
            data: Default::default(),
        };
        assert_eq!(
            ctx.immediate,
            vec![ImmediateEffect::UnitStatus(want.clone())]
        );
        assert_eq!(ctx.unit_status, want);
        assert_ok(
            &call(
                &mut ctx,
                "status-set",
                &["--application=True", "active", "all good"],
            ),
            "",
        );
        assert_eq!(ctx.app_status.message, "all good");
        assert!(matches!(
            ctx.immediate.last(),
            Some(ImmediateEffect::AppStatus(_))
        ));
        // Buffered state is untouched.
        assert!(ctx
            .relations
            .values()
            .all(|r| r.pending_unit_writes.is_empty()));
    }

    #[test]
    fn status_set_application_needs_leadership() {
        let mut ctx = fixture();
        ctx.is_leader = false;
        assert_err(
            &call(&mut ctx, "status-set", &["--application", "active"]),
            1,
            "this unit is not the leader",
        );
        assert!(ctx.immediate.is_empty());
        assert!(ctx.leadership_denied);
    }

    #[test]
    fn status_get_conformance() {
        check_table(
            "status-get",
            fixture,
            &[
                ok(&[], "active\n"),
                ok(&["--format=json"], "{\"status\":\"active\"}\n"),
                ok(&["--include-data", "--format=json", "--application=false"], "{\"message\":\"ready\",\"status\":\"active\",\"status-data\":{}}\n"),
                ok(&["--include-data", "--application=False", "--format=json"], "{\"message\":\"ready\",\"status\":\"active\",\"status-data\":{}}\n"),
                ok(&["--include-data"], "message: ready\nstatus: active\nstatus-data: {}\n"),
                ok(
                    &["--include-data", "--application=True", "--format=json"],
                    "{\"application-status\":{\"message\":\"\",\"status\":\"active\",\"status-data\":{},\"units\":{\"lb/0\":{\"message\":\"ready\",\"status\":\"active\",\"status-data\":{}},\"lb/1\":{\"message\":\"\",\"status\":\"waiting\",\"status-data\":{}}}}}\n",
                ),
                ok(
                    &["--application", "--format=json"],
                    "{\"application-status\":{\"status\":\"active\",\"units\":{\"lb/0\":{\"status\":\"active\"},\"lb/1\":{\"status\":\"waiting\"}}}}\n",
                ),
                usage(&["x"], "unrecognized args: [\"x\"]"),
            ],
        );
        let minion = || {
            let mut ctx = fixture();
            ctx.is_leader = false;
            ctx
        };
        check_table(
            "status-get",
            minion,
            &[fail(
                &["--application=true", "--format=json"],
                "finding application status: this unit is not the leader",
            )],
        );
    }

    #[test]
    fn application_version_set_conformance() {
        check_table(
            "application-version-set",
            fixture,
            &[
                ok(&["--", "2.6.12"], ""),
                ok(&["1.0"], ""),
                usage(&[], "no version specified"),
                usage(&["1", "2"], "unrecognized args: [\"2\"]"),
                usage(
                    &["--format=json", "1"],
                    "option provided but not defined: --format",
                ),
            ],
        );
        let mut ctx = fixture();
        assert_ok(
            &call(&mut ctx, "application-version-set", &["--", "-v1"]),
            "",
        );
        assert_eq!(
            ctx.immediate,
            vec![ImmediateEffect::WorkloadVersion("-v1".into())]
        );
    }
}
