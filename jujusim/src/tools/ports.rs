//! `open-port`, `close-port`, `opened-ports` (spec §4.12–§4.13). Changes are buffered in
//! `ctx.port_changes` for the runner to commit on exit 0; `opened-ports` shows the committed
//! ports with those pending changes applied.

use super::flags::{Flag, FlagValue, Key};
use super::output::Val;
use super::text::{go_quote, unrecognized};
use super::{output_flag, output_flags, smart_output, Call, Tool, ToolError};
use crate::context::{HookContext, PortChange, PortRange};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "open-port",
        args: "<port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp",
        purpose: "Register a request to open a port or port range.",
        flags: &PORT_FLAGS,
        run: open_port,
    },
    Tool {
        name: "close-port",
        args: "<port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp",
        purpose: "Register a request to close a port or port range.",
        flags: &PORT_FLAGS,
        run: close_port,
    },
    Tool {
        name: "opened-ports",
        args: "",
        purpose: "List all ports or port ranges opened by the unit.",
        flags: &OPENED_FLAGS,
        run: opened_ports,
    },
];

const OUT: [Flag; 3] = output_flags("smart");
const PORT_FLAGS: [Flag; 2] = [
    Flag::value(
        "endpoints",
        Key::Endpoints,
        "",
        "a comma-delimited list of application endpoints to target with this operation",
    ),
    Flag::value("format", Key::Format, "", "deprecated format flag"),
];
const OPENED_FLAGS: [Flag; 4] = [
    OUT[0],
    OUT[1],
    OUT[2],
    Flag::switch(
        "endpoints",
        Key::Endpoints,
        "display the list of target application endpoints for each port range",
    ),
];

/// `80/tcp`, `8000-8999/udp`, `icmp` (Juju `PortRange.String`).
pub fn show(range: &PortRange) -> String {
    match range {
        PortRange::Icmp => "icmp".to_string(),
        PortRange::Tcp { from, to } | PortRange::Udp { from, to } => {
            let proto = if matches!(range, PortRange::Tcp { .. }) {
                "tcp"
            } else {
                "udp"
            };
            if from == to {
                format!("{from}/{proto}")
            } else {
                format!("{from}-{to}/{proto}")
            }
        }
    }
}

fn atoi_err(s: &str) -> String {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        format!("strconv.Atoi: parsing {}: value out of range", go_quote(s))
    } else {
        format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(s))
    }
}

/// Parses the port argument (lower-cased first), §4.12 "Parsing". Errors are usage errors.
pub(crate) fn parse_port_range(arg: &str) -> Result<PortRange, String> {
    let arg = arg.to_lowercase();
    if arg == "icmp" {
        return Ok(PortRange::Icmp);
    }
    let (ports, proto) = match arg.split_once('/') {
        Some((p, proto)) => (p, proto),
        None => (arg.as_str(), "tcp"),
    };
    let parts: Vec<&str> = ports.split('-').collect();
    if parts.len() > 2 {
        return Err(format!("invalid port range {}", go_quote(ports)));
    }
    let mut bounds = Vec::new();
    for p in &parts {
        let n = super::go_atoi(p)
            .ok_or_else(|| format!("invalid port {}: {}", go_quote(ports), atoi_err(p)))?;
        bounds.push(n);
    }
    let (from, to) = (bounds[0], *bounds.last().unwrap_or(&bounds[0]));
    match proto {
        "tcp" | "udp" => {}
        "icmp" => {
            return Err(format!(
                "protocol \"icmp\" doesn't support any ports; got \"{from}\""
            ))
        }
        other => {
            return Err(format!(
                "invalid protocol {}, expected \"tcp\", \"udp\", or \"icmp\"",
                go_quote(other)
            ))
        }
    }
    if from > to {
        return Err(format!("invalid port range {from}-{to}/{proto}"));
    }
    if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) {
        return Err(format!(
            "port range bounds must be between 0 and 65535, got {from}-{to}"
        ));
    }
    let (from, to) = (from as u16, to as u16);
    Ok(if proto == "tcp" {
        PortRange::Tcp { from, to }
    } else {
        PortRange::Udp { from, to }
    })
}

/// The ranges this unit will have open once the context's pending changes are committed, with
/// the endpoints each applies to (`""` = all endpoints). For the runner's commit (§1.5 "Exit 0")
/// and for `status` output; `opened-ports` prints the same view.
pub fn opened_after_changes(ctx: &HookContext) -> BTreeMap<PortRange, BTreeSet<String>> {
    effective(ctx)
}

fn overlaps(a: &PortRange, b: &PortRange) -> bool {
    match (a, b) {
        (PortRange::Icmp, PortRange::Icmp) => true,
        (PortRange::Tcp { from: f1, to: t1 }, PortRange::Tcp { from: f2, to: t2 })
        | (PortRange::Udp { from: f1, to: t1 }, PortRange::Udp { from: f2, to: t2 }) => {
            f1 <= t2 && f2 <= t1
        }
        _ => false,
    }
}

/// The endpoints each range is open for, committed ports (all endpoints, `""`) plus this hook's
/// changes in order.
fn effective(ctx: &HookContext) -> BTreeMap<PortRange, BTreeSet<String>> {
    let mut open: BTreeMap<PortRange, BTreeSet<String>> = ctx
        .opened_ports
        .iter()
        .map(|r| (*r, BTreeSet::from([String::new()])))
        .collect();
    for change in &ctx.port_changes {
        let eps = change
            .endpoints
            .clone()
            .unwrap_or_else(|| vec![String::new()]);
        let entry = open.entry(change.range).or_default();
        for ep in eps {
            if change.open {
                entry.insert(ep);
            } else if ep.is_empty() {
                entry.clear();
            } else {
                entry.remove(&ep);
            }
        }
        if entry.is_empty() {
            open.remove(&change.range);
        }
    }
    open
}

fn change_ports(call: &mut Call, open: bool) -> Result<Vec<u8>, ToolError> {
    let mut endpoints: Option<Vec<String>> = None;
    let mut format_flag = String::new();
    let pos = call.parse(|key, v| {
        match (key, v) {
            (Key::Endpoints, FlagValue::Text(list)) if !list.is_empty() => {
                let mut eps: Vec<String> = list.split(',').map(|e| e.trim().to_string()).collect();
                eps.sort();
                eps.dedup();
                endpoints = Some(eps);
            }
            (Key::Format, FlagValue::Text(f)) => format_flag = f,
            _ => {}
        }
        Ok(())
    })?;
    let Some((arg, rest)) = pos.split_first() else {
        return Err(ToolError::Usage("no port or range specified".into()));
    };
    let range = parse_port_range(arg).map_err(ToolError::Usage)?;
    if !rest.is_empty() {
        return Err(ToolError::Usage(unrecognized(rest)));
    }
    if !format_flag.is_empty() {
        let name = if open { "open-port" } else { "close-port" };
        call.stderr.extend_from_slice(
            format!("--format flag deprecated for command {}", go_quote(name)).as_bytes(),
        );
    }
    let ctx = &mut *call.ctx;
    if open {
        for (unit, ranges) in &ctx.machine_ports {
            if unit == &ctx.unit {
                continue;
            }
            if let Some(other) = ranges.iter().find(|r| overlaps(r, &range)) {
                return Err(ToolError::Run(format!(
                    "cannot open {} (unit {}): port range conflicts with {} (unit {})",
                    show(&range),
                    go_quote(&ctx.unit),
                    show(other),
                    go_quote(unit)
                )));
            }
        }
        if let Some(earlier) = ctx
            .port_changes
            .iter()
            .find(|c| c.open && c.range != range && overlaps(&c.range, &range))
        {
            return Err(ToolError::Run(format!(
                "cannot open {} (unit {}): port range conflicts with {} (unit {}) requested earlier",
                show(&range),
                go_quote(&ctx.unit),
                show(&earlier.range),
                go_quote(&ctx.unit)
            )));
        }
    }
    // An open cancels a pending close of the same range and vice versa.
    if let Some(i) = ctx
        .port_changes
        .iter()
        .position(|c| c.open != open && c.range == range && c.endpoints == endpoints)
    {
        ctx.port_changes.remove(i);
        return Ok(Vec::new());
    }
    let now = effective(ctx);
    let wanted: Vec<String> = endpoints.clone().unwrap_or_else(|| vec![String::new()]);
    let already = match now.get(&range) {
        Some(eps) if open => wanted.iter().all(|e| eps.contains(e) || eps.contains("")),
        Some(eps) => {
            endpoints.is_some() && wanted.iter().all(|e| !eps.contains(e)) && !eps.contains("")
        }
        None => !open,
    };
    if !already {
        ctx.port_changes.push(PortChange {
            open,
            range,
            endpoints,
        });
    }
    Ok(Vec::new())
}

fn open_port(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    change_ports(call, true)
}

fn close_port(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    change_ports(call, false)
}

/// §4.13 `opened-ports`.
fn opened_ports(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let mut show_endpoints = false;
    let pos = call.parse(|key, v| {
        if let Some(r) = output_flag(&mut out, key, &v) {
            return r;
        }
        if key == Key::Endpoints {
            show_endpoints = v == FlagValue::Bool(true);
        }
        Ok(())
    })?;
    if !pos.is_empty() {
        return Err(ToolError::Usage(unrecognized(&pos)));
    }
    let entries: Vec<String> = effective(call.ctx)
        .into_iter()
        .map(|(range, eps)| {
            if !show_endpoints {
                show(&range)
            } else if eps.contains("") {
                format!("{} (*)", show(&range))
            } else {
                format!(
                    "{} ({})",
                    show(&range),
                    eps.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
        })
        .collect();
    call.emit(&out, &Val::StrList(entries))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn port_argument_parsing() {
        let good = [
            ("80", PortRange::Tcp { from: 80, to: 80 }),
            ("80/TCP", PortRange::Tcp { from: 80, to: 80 }),
            (
                "8000-8999/udp",
                PortRange::Udp {
                    from: 8000,
                    to: 8999,
                },
            ),
            ("ICMP", PortRange::Icmp),
            ("0", PortRange::Tcp { from: 0, to: 0 }),
        ];
        for (arg, want) in good {
            assert_eq!(parse_port_range(arg), Ok(want), "{arg}");
            assert_eq!(parse_port_range(&show(&want)), Ok(want));
        }
        let bad = [
            (
                "abc",
                "invalid port \"abc\": strconv.Atoi: parsing \"abc\": invalid syntax",
            ),
            (
                "80/sctp",
                "invalid protocol \"sctp\", expected \"tcp\", \"udp\", or \"icmp\"",
            ),
            (
                "1-70000",
                "port range bounds must be between 0 and 65535, got 1-70000",
            ),
            ("90-80/tcp", "invalid port range 90-80/tcp"),
            (
                "80/icmp",
                "protocol \"icmp\" doesn't support any ports; got \"80\"",
            ),
            ("1-2-3", "invalid port range \"1-2-3\""),
        ];
        for (arg, want) in bad {
            assert_eq!(parse_port_range(arg), Err(want.to_string()), "{arg}");
        }
    }

    #[test]
    fn open_close_conformance() {
        check_table(
            "open-port",
            fixture,
            &[
                ok(&["8080/tcp"], ""),
                ok(&["icmp"], ""),
                ok(&["--endpoints", "website,lb-consumers", "443"], ""),
                usage(&[], "no port or range specified"),
                usage(
                    &["abc"],
                    "invalid port \"abc\": strconv.Atoi: parsing \"abc\": invalid syntax",
                ),
                usage(&["80", "81"], "unrecognized args: [\"81\"]"),
                usage(
                    &["--bogus", "80"],
                    "option provided but not defined: --bogus",
                ),
            ],
        );
        check_table(
            "close-port",
            fixture,
            &[
                ok(&["80"], ""),
                usage(
                    &["1-70000"],
                    "port range bounds must be between 0 and 65535, got 1-70000",
                ),
            ],
        );
    }

    #[test]
    fn port_changes_are_buffered_and_cancel_each_other() {
        let mut ctx = fixture();
        ctx.opened_ports.insert(PortRange::Tcp { from: 80, to: 80 });
        assert_ok(&call(&mut ctx, "open-port", &["8080/tcp"]), "");
        assert_ok(&call(&mut ctx, "open-port", &["8080/tcp"]), "");
        assert_ok(&call(&mut ctx, "open-port", &["80/tcp"]), "");
        assert_eq!(
            ctx.port_changes,
            vec![PortChange {
                open: true,
                range: PortRange::Tcp {
                    from: 8080,
                    to: 8080
                },
                endpoints: None
            }]
        );
        assert_ok(
            &call(&mut ctx, "opened-ports", &["--format=json"]),
            "[\"80/tcp\",\"8080/tcp\"]\n",
        );
        assert_ok(&call(&mut ctx, "close-port", &["8080/tcp"]), "");
        assert!(ctx.port_changes.is_empty());
        assert_ok(&call(&mut ctx, "close-port", &["80"]), "");
        assert_ok(&call(&mut ctx, "opened-ports", &[]), "");
        assert_ok(&call(&mut ctx, "open-port", &["80"]), "");
        assert!(ctx.port_changes.is_empty());
        assert!(ctx.immediate.is_empty());
        assert_eq!(
            ctx.opened_ports.len(),
            1,
            "committed ports are the runner's"
        );
    }

    #[test]
    fn opened_ports_sorts_by_protocol_and_shows_endpoints() {
        let mut ctx = fixture();
        for args in [
            &["8000-8999/udp"][..],
            &["icmp"],
            &["443", "--endpoints", "website,lb-consumers"],
            &["80"],
        ] {
            assert_ok(&call(&mut ctx, "open-port", args), "");
        }
        assert_ok(
            &call(&mut ctx, "opened-ports", &["--format=json"]),
            "[\"icmp\",\"80/tcp\",\"443/tcp\",\"8000-8999/udp\"]\n",
        );
        assert_ok(
            &call(&mut ctx, "opened-ports", &[]),
            "icmp\n80/tcp\n443/tcp\n8000-8999/udp\n",
        );
        assert_ok(
            &call(&mut ctx, "opened-ports", &["--endpoints"]),
            "icmp (*)\n80/tcp (*)\n443/tcp (lb-consumers, website)\n8000-8999/udp (*)\n",
        );
    }

    #[test]
    fn conflicting_ports_fail_with_juju_text() {
        let mut ctx = fixture();
        ctx.machine_ports.insert(
            "other/0".into(),
            BTreeSet::from([PortRange::Tcp { from: 80, to: 80 }]),
        );
        assert_err(
            &call(&mut ctx, "open-port", &["75-85"]),
            1,
            "cannot open 75-85/tcp (unit \"lb/0\"): port range conflicts with 80/tcp (unit \"other/0\")",
        );
        assert_ok(&call(&mut ctx, "open-port", &["80/udp"]), "");
        assert_ok(&call(&mut ctx, "open-port", &["1000-2000"]), "");
        assert_err(
            &call(&mut ctx, "open-port", &["1500"]),
            1,
            "cannot open 1500/tcp (unit \"lb/0\"): port range conflicts with 1000-2000/tcp (unit \"lb/0\") requested earlier",
        );
    }
}
