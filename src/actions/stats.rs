//! `stats` (`spec/actions.md`): `show stat` from the runtime socket as a table, as JSON, and the
//! count of servers up and down. Reads only; never changes HAProxy.

use super::{result, ActionEnv, Failure, NoParams, Results};
use crate::haproxy::runtime::StatRow;
use serde::Serialize;

/// One row of the report (`spec/haproxy.md` §4 column names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatLine {
    pub proxy: String,
    /// `FRONTEND`, `BACKEND` or the server's name.
    pub server: String,
    pub status: String,
    pub current_sessions: String,
    pub total_sessions: String,
    pub last_check: String,
    pub weight: String,
}

impl StatLine {
    fn from_row(row: &StatRow) -> Self {
        let col = |c: &str| row.get(c).unwrap_or("").to_owned();
        StatLine {
            proxy: row.proxy().to_owned(),
            server: row.service().to_owned(),
            status: row.status().to_owned(),
            current_sessions: col("scur"),
            total_sessions: col("stot"),
            last_check: col("check_status"),
            weight: col("weight"),
        }
    }

    fn is_server(&self) -> bool {
        self.server != "FRONTEND" && self.server != "BACKEND"
    }
}

/// Up: `UP`, `UP 1/3` (going down but serving), `DRAIN` (up, taking no new traffic), `no check`.
/// Down: `DOWN`, `DOWN 1/2` (coming up), `MAINT`, `MAINT(via)`.
fn server_is_up(status: &str) -> bool {
    !(status.starts_with("DOWN") || status.starts_with("MAINT"))
}

pub fn stats(env: &ActionEnv, _params: NoParams) -> Result<Results, Failure> {
    let rows = env.admin().show_stat().map_err(|e| {
        Failure::new(format!(
            "cannot read statistics: HAProxy is not running or its runtime socket does not answer ({e}){}",
            super::lifecycle::suspended_hint(env)
        ))
    })?;
    Ok(report(
        &rows.iter().map(StatLine::from_row).collect::<Vec<_>>(),
    ))
}

/// The results for these rows.
pub fn report(lines: &[StatLine]) -> Results {
    let servers: Vec<&StatLine> = lines.iter().filter(|l| l.is_server()).collect();
    let up = servers.iter().filter(|l| server_is_up(&l.status)).count();
    let mut results = Results::new();
    result(&mut results, "summary", table(lines));
    result(
        &mut results,
        "json",
        serde_json::to_string(lines).unwrap_or_default(),
    );
    result(&mut results, "servers-up", up);
    result(&mut results, "servers-down", servers.len() - up);
    results
}

/// A fixed-width table: proxy, server, status, current and total sessions, last check.
fn table(lines: &[StatLine]) -> String {
    let header = ["PROXY", "SERVER", "STATUS", "CUR", "TOTAL", "LAST CHECK"];
    let rows: Vec<[&str; 6]> = lines
        .iter()
        .map(|l| {
            [
                l.proxy.as_str(),
                l.server.as_str(),
                l.status.as_str(),
                l.current_sessions.as_str(),
                l.total_sessions.as_str(),
                l.last_check.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    std::iter::once(header)
        .chain(rows)
        .map(|row| {
            row.iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(proxy: &str, server: &str, status: &str) -> StatLine {
        StatLine {
            proxy: proxy.into(),
            server: server.into(),
            status: status.into(),
            current_sessions: "0".into(),
            total_sessions: "7".into(),
            last_check: "L7OK".into(),
            weight: "1".into(),
        }
    }

    #[test]
    fn servers_are_counted_by_status_and_proxies_are_not() {
        let results = report(&[
            line("fe_web", "FRONTEND", "OPEN"),
            line("be_web", "web-0", "UP"),
            line("be_web", "web-1", "DOWN"),
            line("be_web", "web-2", "MAINT"),
            line("be_web", "web-3", "DRAIN"),
            line("be_web", "web-4", "UP 1/3"),
            line("be_web", "BACKEND", "UP"),
        ]);
        assert_eq!(results["servers-up"], "3");
        assert_eq!(results["servers-down"], "2");
        let json: serde_json::Value = serde_json::from_str(&results["json"]).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 7);
        assert_eq!(json[1]["server"], "web-0");
    }

    #[test]
    fn summary_is_an_aligned_table_with_a_header() {
        let results = report(&[line("be_web", "web-0", "UP")]);
        let summary = &results["summary"];
        let mut lines = summary.lines();
        assert_eq!(
            lines.next().unwrap(),
            "PROXY   SERVER  STATUS  CUR  TOTAL  LAST CHECK"
        );
        assert_eq!(
            lines.next().unwrap(),
            "be_web  web-0   UP      0    7      L7OK"
        );
    }

    #[test]
    fn result_keys_are_juju_keys() {
        let key = regex_lite::Regex::new(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$").unwrap();
        for k in report(&[]).keys() {
            assert!(key.is_match(k), "{k}");
        }
    }
}
