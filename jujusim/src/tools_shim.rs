//! TEMPORARY stand-in for the `tools` module (owned by the sim-tools branch) with the same API,
//! so the runner can be built and tested before the merge. Deleted at the merge.

use crate::context::{HookContext, ImmediateEffect, PortChange, PortRange, Status};
use std::path::Path;

pub const TOOL_NAMES: &[&str] = &[
    "relation-get",
    "relation-set",
    "relation-ids",
    "relation-list",
    "config-get",
    "status-set",
    "is-leader",
    "juju-log",
    "action-get",
    "action-set",
    "action-fail",
    "action-log",
    "open-port",
    "leader-set",
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

pub fn needs_stdin(tool: &str, args: &[String]) -> bool {
    tool == "relation-set" && args.windows(2).any(|w| w[0] == "--file" && w[1] == "-")
}

fn ok(s: String) -> ToolOutput {
    ToolOutput {
        stdout: s.into_bytes(),
        stderr: vec![],
        code: 0,
    }
}
fn err(code: i32, s: &str) -> ToolOutput {
    ToolOutput {
        stdout: vec![],
        stderr: format!("ERROR {s}\n").into_bytes(),
        code,
    }
}

pub fn run(
    tool: &str,
    args: &[String],
    _cwd: &Path,
    stdin: Option<&[u8]>,
    ctx: &mut HookContext,
) -> ToolOutput {
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let rel = args
        .windows(2)
        .find(|w| w[0] == "-r")
        .and_then(|w| w[1].rsplit(':').next()?.parse::<u64>().ok())
        .or(ctx.relation_id);
    match tool {
        "juju-log" => {
            let msg = args.last().cloned().unwrap_or_default();
            ctx.immediate.push(ImmediateEffect::Log {
                level: "INFO".into(),
                message: msg,
            });
            ok(String::new())
        }
        "status-set" => {
            let app = args
                .iter()
                .any(|a| a == "--application=true" || a == "--application=True");
            let st = Status {
                status: pos.first().map(|s| s.to_string()).unwrap_or_default(),
                message: pos.get(1).map(|s| s.to_string()).unwrap_or_default(),
                data: Default::default(),
            };
            if app {
                ctx.app_status = st.clone();
                ctx.immediate.push(ImmediateEffect::AppStatus(st));
            } else {
                ctx.unit_status = st.clone();
                ctx.immediate.push(ImmediateEffect::UnitStatus(st));
            }
            ok(String::new())
        }
        "is-leader" => ok(format!("{}\n", ctx.is_leader)),
        "leader-set" => {
            for kv in &pos {
                if let Some((k, v)) = kv.split_once('=') {
                    ctx.leader_settings.insert(k.into(), v.into());
                }
            }
            ctx.immediate
                .push(ImmediateEffect::LeaderSettings(ctx.leader_settings.clone()));
            ok(String::new())
        }
        "config-get" => ok(format!(
            "{}\n",
            serde_json::to_string(&ctx.config).unwrap_or_default()
        )),
        "relation-ids" => {
            let ep = pos.first().map(|s| s.to_string()).unwrap_or_default();
            let ids: Vec<String> = ctx
                .relations
                .values()
                .filter(|r| r.endpoint == ep && !r.broken)
                .map(|r| format!("{}:{}", r.endpoint, r.id))
                .collect();
            if args.iter().any(|a| a == "--format=json") {
                ok(format!(
                    "{}\n",
                    serde_json::to_string(&ids).unwrap_or_default()
                ))
            } else {
                ok(ids.iter().map(|i| format!("{i}\n")).collect())
            }
        }
        "relation-list" => {
            let Some(view) = rel.and_then(|r| ctx.relations.get(&r)) else {
                return err(2, "no relation id specified");
            };
            ok(format!(
                "{}\n",
                serde_json::to_string(&view.members).unwrap_or_default()
            ))
        }
        "relation-get" => {
            let Some(view) = rel.and_then(|r| ctx.relations.get(&r)) else {
                return err(2, "no relation id specified");
            };
            let target = pos
                .get(1)
                .map(|s| s.to_string())
                .or(ctx.remote_unit.clone())
                .unwrap_or_default();
            let bag = if target == ctx.unit {
                view.local_unit_bag.clone()
            } else if target == ctx.app {
                view.local_app_bag.clone()
            } else if target == view.remote_app {
                view.remote_app_bag.clone()
            } else {
                view.remote_unit_bags
                    .get(&target)
                    .cloned()
                    .unwrap_or_default()
            };
            ok(format!(
                "{}\n",
                serde_json::to_string(&bag).unwrap_or_default()
            ))
        }
        "relation-set" => {
            let Some(id) = rel else {
                return err(2, "no relation id specified");
            };
            let mut pairs: Vec<(String, String)> = Vec::new();
            if let Some(bytes) = stdin {
                let m: std::collections::BTreeMap<String, serde_yaml::Value> =
                    serde_yaml::from_slice(bytes).unwrap_or_default();
                for (k, v) in m {
                    let s = match v {
                        serde_yaml::Value::String(s) => s,
                        serde_yaml::Value::Null => String::new(),
                        other => serde_yaml::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    pairs.push((k, s));
                }
            }
            for kv in &pos {
                if let Some((k, v)) = kv.split_once('=') {
                    pairs.push((k.trim().into(), v.trim().into()));
                }
            }
            let app = args.iter().any(|a| a == "--app");
            if app && !ctx.is_leader {
                return err(1, "cannot write relation settings");
            }
            let Some(view) = ctx.relations.get_mut(&id) else {
                return err(2, "relation not found");
            };
            for (k, v) in pairs {
                let (bag, pend) = if app {
                    (&mut view.local_app_bag, &mut view.pending_app_writes)
                } else {
                    (&mut view.local_unit_bag, &mut view.pending_unit_writes)
                };
                if v.is_empty() {
                    bag.remove(&k);
                    pend.insert(k, None);
                } else {
                    bag.insert(k.clone(), v.clone());
                    pend.insert(k, Some(v));
                }
            }
            ok(String::new())
        }
        "open-port" => {
            let p = pos
                .first()
                .and_then(|s| s.split('/').next()?.parse::<u16>().ok())
                .unwrap_or(0);
            ctx.port_changes.push(PortChange {
                open: true,
                range: PortRange::Tcp { from: p, to: p },
                endpoints: None,
            });
            ok(String::new())
        }
        "action-get" => match &ctx.action {
            Some(a) => ok(format!("{}\n", a.params)),
            None => err(1, "not running an action"),
        },
        "action-set" => match &mut ctx.action {
            Some(a) => {
                for kv in &pos {
                    if let Some((k, v)) = kv.split_once('=') {
                        a.results
                            .insert(k.into(), serde_json::Value::String(v.into()));
                    }
                }
                ok(String::new())
            }
            None => err(1, "not running an action"),
        },
        "action-fail" => match &mut ctx.action {
            Some(a) => {
                a.failure = Some(pos.first().map(|s| s.to_string()).unwrap_or_default());
                ok(String::new())
            }
            None => err(1, "not running an action"),
        },
        "action-log" => {
            ctx.immediate.push(ImmediateEffect::ActionLog(
                pos.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
            ));
            ok(String::new())
        }
        _ => err(1, &format!("bad request: unknown command: {tool}")),
    }
}
