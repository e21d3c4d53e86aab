//! What the CLI prints, shaped like the `juju` commands it mirrors: `status` (tabular, yaml,
//! json), `show-unit`, `config`, action results, and debug-log filtering. Read-only over the
//! model.

use crate::context::PortRange;
use crate::engine::{Sim, SimError};
use crate::model::{Task, Unit};
use serde_json::{json, Map, Value};

/// `80/tcp`, `8000-8999/udp`, `icmp`: the one formatting the hook tools use too.
pub fn port_str(p: &PortRange) -> String {
    crate::tools::format_port_range(p)
}

fn render(value: &Value, format: &str) -> Result<String, SimError> {
    match format {
        "json" => Ok(format!("{value}\n")),
        "yaml" => serde_yaml::to_string(value).map_err(|e| SimError::User(format!("yaml: {e}"))),
        other => Err(SimError::User(format!(
            "invalid value {other:?} for option --format: unknown format"
        ))),
    }
}

/// The status a unit shows: a failed hook shows as `error` with the agent's message (Juju).
fn shown_workload(u: &Unit) -> (String, String, String) {
    if u.agent.status.status == "error" {
        return (
            "error".into(),
            u.agent.status.message.clone(),
            u.agent.since.clone(),
        );
    }
    (
        u.workload.status.status.clone(),
        u.workload.status.message.clone(),
        u.workload.since.clone(),
    )
}

fn shown_agent(u: &Unit) -> String {
    if u.agent.status.status == "error" {
        "idle".into()
    } else {
        u.agent.status.status.clone()
    }
}

/// The application status: set by the charm, else the most severe unit status.
fn app_status(sim: &Sim, app: &str) -> (String, String) {
    let a = &sim.model.applications[app];
    if a.status_set {
        return (
            a.status.status.status.clone(),
            a.status.status.message.clone(),
        );
    }
    let rank = |s: &str| match s {
        "error" => 6,
        "blocked" => 5,
        "maintenance" => 4,
        "waiting" => 3,
        "active" => 2,
        "terminated" => 1,
        _ => 0,
    };
    sim.model
        .units_of(app)
        .iter()
        .filter_map(|n| sim.model.units.get(n))
        .map(|u| {
            let (s, m, _) = shown_workload(u);
            (s, m)
        })
        .max_by_key(|(s, _)| rank(s))
        .unwrap_or(("unknown".into(), String::new()))
}

fn unit_json(sim: &Sim, u: &Unit) -> Value {
    let (ws, wm, wsince) = shown_workload(u);
    let addr = sim
        .model
        .machines
        .get(&u.machine)
        .map(|m| m.address.clone())
        .unwrap_or_default();
    let mut v = json!({
        "workload-status": {"current": ws, "message": wm, "since": wsince},
        "juju-status": {"current": shown_agent(u), "since": u.agent.since, "version": sim.model.juju_version},
        "machine": u.machine.to_string(),
        "public-address": addr,
        "private-address": addr,
    });
    if sim
        .model
        .applications
        .get(&u.app)
        .and_then(|a| a.leader.as_deref())
        == Some(u.name.as_str())
    {
        v["leader"] = json!(true);
    }
    if !u.opened_ports.is_empty() {
        v["open-ports"] = json!(u.opened_ports.iter().map(port_str).collect::<Vec<_>>());
    }
    let subs: Map<String, Value> = sim
        .model
        .unit_names_sorted()
        .into_iter()
        .filter_map(|n| sim.model.units.get(&n))
        .filter(|s| s.principal.as_deref() == Some(u.name.as_str()))
        .map(|s| (s.name.clone(), unit_json(sim, s)))
        .collect();
    if !subs.is_empty() {
        v["subordinates"] = Value::Object(subs);
    }
    v
}

pub fn status_value(sim: &Sim) -> Value {
    let m = &sim.model;
    let mut apps = Map::new();
    for (name, a) in &m.applications {
        let (s, msg) = app_status(sim, name);
        let mut relations = Map::new();
        for r in m.relations.values().filter(|r| r.involves(name)) {
            let Some(end) = r.end_of(name) else { continue };
            let remote = r.remote_app_of(name).unwrap_or_default();
            let list = relations
                .entry(end.endpoint.clone())
                .or_insert_with(|| json!([]));
            if let Some(arr) = list.as_array_mut() {
                arr.push(json!({
                    "related-application": remote,
                    "interface": r.interface,
                    "scope": if r.container { "container" } else { "global" },
                }));
            }
        }
        let units: Map<String, Value> = m
            .units_of(name)
            .into_iter()
            .filter_map(|n| m.units.get(&n))
            .filter(|u| u.principal.is_none())
            .map(|u| (u.name.clone(), unit_json(sim, u)))
            .collect();
        let mut av = json!({
            "charm": a.charm_name,
            "charm-origin": "local",
            "charm-rev": a.charm_revision,
            "exposed": false,
            "application-status": {"current": s, "message": msg, "since": a.status.since},
            "relations": relations,
            "subordinate-to": Value::Null,
            "life": if a.life == crate::model::Life::Alive { "" } else { "dying" },
        });
        if !a.workload_version.is_empty() {
            av["version"] = json!(a.workload_version);
        }
        if a.subordinate {
            let mut to: Vec<String> = m
                .relations
                .values()
                .filter(|r| r.container && r.involves(name))
                .filter_map(|r| r.remote_app_of(name).map(str::to_string))
                .collect();
            to.sort();
            to.dedup();
            av["subordinate-to"] = json!(to);
        } else {
            av["units"] = Value::Object(units);
        }
        if let Some(obj) = av.as_object_mut() {
            obj.retain(|_, v| !v.is_null() && v != "");
        }
        apps.insert(name.clone(), av);
    }
    let machines: Map<String, Value> = m
        .machines
        .values()
        .map(|mach| {
            (
                mach.id.to_string(),
                json!({
                    "dns-name": mach.address,
                    "ip-addresses": [mach.address],
                    "network-namespace": mach.netns,
                    "juju-status": {"current": "started"},
                }),
            )
        })
        .collect();
    let relations: Vec<Value> = m
        .relations
        .values()
        .map(|r| {
            json!({
                "id": r.id,
                "key": r.key(),
                "interface": r.interface,
                "scope": if r.container { "container" } else { "global" },
                "type": if r.is_peer() { "peer" } else { "regular" },
            })
        })
        .collect();
    json!({
        "model": {
            "name": m.name,
            "type": "iaas",
            "version": m.juju_version,
            "model-uuid": m.uuid,
        },
        "machines": machines,
        "applications": apps,
        "relations": relations,
    })
}

pub fn status(sim: &Sim, format: &str) -> Result<String, SimError> {
    if format != "tabular" {
        return render(&status_value(sim), format);
    }
    let m = &sim.model;
    let mut out = String::new();
    out.push_str(&table(&[
        vec!["Model".into(), "Version".into()],
        vec![m.name.clone(), m.juju_version.clone()],
    ]));
    out.push('\n');
    let mut rows = vec![vec![
        "App".into(),
        "Version".into(),
        "Status".into(),
        "Charm".into(),
        "Rev".into(),
        "Message".into(),
    ]];
    for (name, a) in &m.applications {
        let (s, msg) = app_status(sim, name);
        rows.push(vec![
            name.clone(),
            a.workload_version.clone(),
            s,
            a.charm_name.clone(),
            a.charm_revision.to_string(),
            msg,
        ]);
    }
    out.push_str(&table(&rows));
    out.push('\n');
    let mut rows = vec![vec![
        "Unit".into(),
        "Workload".into(),
        "Agent".into(),
        "Machine".into(),
        "Public address".into(),
        "Ports".into(),
        "Message".into(),
    ]];
    let push_unit = |u: &Unit, indent: &str, rows: &mut Vec<Vec<String>>| {
        let (ws, wm, _) = shown_workload(u);
        let leader =
            m.applications.get(&u.app).and_then(|a| a.leader.as_deref()) == Some(u.name.as_str());
        rows.push(vec![
            format!("{indent}{}{}", u.name, if leader { "*" } else { "" }),
            ws,
            shown_agent(u),
            u.machine.to_string(),
            m.machines
                .get(&u.machine)
                .map(|x| x.address.clone())
                .unwrap_or_default(),
            u.opened_ports
                .iter()
                .map(port_str)
                .collect::<Vec<_>>()
                .join(","),
            wm,
        ]);
    };
    for name in m.unit_names_sorted() {
        let u = &m.units[&name];
        if u.principal.is_some() {
            continue;
        }
        push_unit(u, "", &mut rows);
        for sub in m.unit_names_sorted() {
            let s = &m.units[&sub];
            if s.principal.as_deref() == Some(name.as_str()) {
                push_unit(s, "  ", &mut rows);
            }
        }
    }
    out.push_str(&table(&rows));
    if !m.relations.is_empty() {
        out.push('\n');
        let mut rows = vec![vec![
            "Id".into(),
            "Integration".into(),
            "Interface".into(),
            "Type".into(),
        ]];
        for r in m.relations.values() {
            rows.push(vec![
                r.id.to_string(),
                r.key(),
                r.interface.clone(),
                if r.is_peer() {
                    "peer".into()
                } else if r.container {
                    "subordinate".into()
                } else {
                    "regular".into()
                },
            ]);
        }
        out.push_str(&table(&rows));
    }
    Ok(out)
}

fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `juju show-unit` shape, with each relation's data.
pub fn show_unit(sim: &Sim, name: &str, format: &str) -> Result<String, SimError> {
    let u = sim.unit(name)?;
    let m = &sim.model;
    let app = &m.applications[&u.app];
    let mut rels = Vec::new();
    for id in u.relations.keys() {
        let Some(r) = m.relations.get(id) else {
            continue;
        };
        let Some(end) = r.end_of(&u.app) else {
            continue;
        };
        let remote_app = r.remote_app_of(&u.app).unwrap_or_default();
        let remote_end = if r.is_peer() {
            end.endpoint.clone()
        } else {
            r.ends
                .iter()
                .find(|e| e.app != u.app)
                .map(|e| e.endpoint.clone())
                .unwrap_or_default()
        };
        let related: Map<String, Value> = r
            .unit_bags
            .iter()
            .filter(|(other, _)| {
                other.as_str() != name
                    && other.split('/').next() == Some(remote_app)
                    && (r.in_scope.contains(other.as_str()) && m.can_see(r, name, other))
            })
            .map(|(other, bag)| (other.clone(), json!({"in-scope": true, "data": bag})))
            .collect();
        rels.push(json!({
            "relation-id": id,
            "endpoint": end.endpoint,
            "related-endpoint": remote_end,
            "application-data": r.app_bags.get(remote_app).cloned().unwrap_or_default(),
            "local-unit": {
                "in-scope": r.in_scope.contains(name),
                "data": r.unit_bags.get(name).cloned().unwrap_or_default(),
            },
            "related-units": related,
        }));
    }
    let addr = m
        .machines
        .get(&u.machine)
        .map(|x| x.address.clone())
        .unwrap_or_default();
    let mut v = json!({
        "opened-ports": u.opened_ports.iter().map(port_str).collect::<Vec<_>>(),
        "charm": format!("local:{}-{}", app.charm_name, u.charm_revision),
        "leader": app.leader.as_deref() == Some(name),
        "life": if u.life == crate::model::Life::Alive { "alive" } else { "dying" },
        "relation-info": rels,
        "machine": u.machine.to_string(),
        "public-address": addr,
        "workload-version": app.workload_version,
    });
    if let Some(p) = &u.principal {
        v["principal"] = json!(p);
    }
    let mut outer = Map::new();
    outer.insert(name.to_string(), v);
    render(&Value::Object(outer), format)
}

/// `juju config APP` with no keys.
pub fn config(sim: &Sim, app: &str, format: Option<&str>) -> Result<String, SimError> {
    let charm = sim.app_charm(app)?;
    let a = &sim.model.applications[app];
    let mut settings = Map::new();
    for (k, opt) in &charm.config {
        let mut entry = json!({
            "description": opt.description,
            "type": opt.kind.name(),
        });
        if let Some(d) = &opt.default {
            entry["default"] = d.clone();
        }
        match (a.config.get(k), &opt.default) {
            (Some(v), _) => {
                entry["value"] = v.clone();
                entry["source"] = json!("user");
            }
            (None, Some(d)) => {
                entry["value"] = d.clone();
                entry["source"] = json!("default");
            }
            (None, None) => {
                entry["source"] = json!("unset");
            }
        }
        settings.insert(k.clone(), entry);
    }
    let v = json!({
        "application": app,
        "charm": a.charm_name,
        "application-config": {
            "trust": {
                "default": false,
                "description": "Does this application have access to trusted credentials",
                "source": "default",
                "type": "bool",
                "value": false
            }
        },
        "settings": settings,
    });
    render(&v, format.unwrap_or("yaml"))
}

/// `juju config APP KEY`: the value alone.
pub fn config_value(sim: &Sim, app: &str, key: &str) -> Result<String, SimError> {
    let charm = sim.app_charm(app)?;
    if !charm.config.contains_key(key) {
        return Err(SimError::User(format!(
            "key {key:?} not found in {app:?} application config or charm settings."
        )));
    }
    let cfg = sim.effective_config(app, &charm);
    Ok(match cfg.get(key) {
        Some(Value::String(s)) => format!("{s}\n"),
        Some(Value::Null) | None => "\n".into(),
        Some(v) => format!("{v}\n"),
    })
}

/// Parses and validates `juju run` parameters for `action` on `unit`.
pub fn action_params(
    sim: &Sim,
    unit: &str,
    action: &str,
    args: &[String],
    file: Option<Value>,
) -> Result<Value, SimError> {
    let charm = sim.unit_charm(unit)?;
    let spec = charm
        .actions
        .get(action)
        .ok_or_else(|| SimError::User(format!("action {action:?} not defined on unit {unit:?}")))?;
    let mut params = file.unwrap_or_else(|| Value::Object(Map::new()));
    if !params.is_object() {
        return Err(SimError::User("--params file must hold a map".into()));
    }
    // Arguments override the file, as in `juju run`.
    if let (Some(base), Value::Object(over)) = (
        params.as_object_mut(),
        crate::actions::parse_params(args).map_err(SimError::User)?,
    ) {
        base.extend(over);
    }
    crate::actions::validate(&spec.schema, params).map_err(SimError::User)
}

/// `juju run` output: the results (plain: YAML of the results without the reserved keys, then
/// the action's stdout), or the whole task (yaml/json).
pub fn task_output(t: &Task, format: Option<&str>) -> Result<String, SimError> {
    let full = json!({
        t.unit.clone(): {
            "id": t.id.to_string(),
            "status": t.status,
            "message": t.message,
            "results": t.results,
            "log": t.logs.iter().map(|(time, m)| format!("{time} {m}")).collect::<Vec<_>>(),
            "timing": {"enqueued": t.enqueued, "completed": t.completed},
            "unit": t.unit,
        }
    });
    match format {
        Some(f @ ("yaml" | "json")) => render(&full, f),
        Some("plain") | None => {
            let mut out = String::new();
            for (_, m) in &t.logs {
                out.push_str(m);
                out.push('\n');
            }
            let shown: Map<String, Value> = t
                .results
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "return-code" | "stdout" | "stderr" | "stdout-encoding" | "stderr-encoding"
                    )
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !shown.is_empty() {
                out.push_str(&render(&Value::Object(shown), "yaml")?);
            }
            if let Some(Value::String(s)) = t.results.get("stdout") {
                out.push_str(s);
            }
            Ok(out)
        }
        Some(other) => render(&full, other),
    }
}

/// `juju show-status-log`: time, type, status, message.
pub fn status_log(sim: &Sim, unit: &str) -> Result<String, SimError> {
    let u = sim.unit(unit)?;
    let mut rows = vec![vec![
        "Time".to_string(),
        "Type".into(),
        "Status".into(),
        "Message".into(),
    ]];
    for h in &u.history {
        rows.push(vec![
            h.since.clone(),
            h.kind.clone(),
            h.status.clone(),
            h.message.clone(),
        ]);
    }
    Ok(table(&rows))
}

const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/// Keeps debug-log lines of the given units (`app/0` or `unit-app-0`) at or above a level.
pub fn filter_log(text: &str, include: &[String], level: Option<&str>) -> String {
    let min = level
        .and_then(|l| LEVELS.iter().position(|x| x.eq_ignore_ascii_case(l)))
        .unwrap_or(0);
    let tags: Vec<String> = include
        .iter()
        .map(|i| {
            if i.starts_with("unit-") {
                format!("{i}:")
            } else {
                format!("unit-{}:", i.replace('/', "-"))
            }
        })
        .collect();
    let mut out = String::new();
    for line in text.lines() {
        if !tags.is_empty() && !tags.iter().any(|t| line.starts_with(t.as_str())) {
            continue;
        }
        let lvl = line.split_whitespace().nth(2).unwrap_or("");
        let pos = LEVELS.iter().position(|x| *x == lvl).unwrap_or(0);
        if pos >= min {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_print_like_juju() {
        assert_eq!(port_str(&PortRange::Tcp { from: 80, to: 80 }), "80/tcp");
        assert_eq!(
            port_str(&PortRange::Udp {
                from: 8000,
                to: 8999
            }),
            "8000-8999/udp"
        );
        assert_eq!(port_str(&PortRange::Icmp), "icmp");
    }

    #[test]
    fn log_filter_keeps_units_and_levels() {
        let text = "unit-a-0: 10:00:00 DEBUG unit.a/0.install x\nunit-a-1: 10:00:00 ERROR unit.a/1.install y\n";
        assert_eq!(
            filter_log(text, &["a/1".into()], None),
            "unit-a-1: 10:00:00 ERROR unit.a/1.install y\n"
        );
        assert_eq!(
            filter_log(text, &[], Some("info")),
            "unit-a-1: 10:00:00 ERROR unit.a/1.install y\n"
        );
    }
}
