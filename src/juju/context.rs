//! The hook's environment, read once into one typed [`Context`] (spec §1.2, §1.3, §1.6).
//!
//! [`Context::from_env`] is the only place in the charm crate that reads `std::env`; everything
//! else is handed a `Context`. [`Context::from_parts`] takes a plain map and argv so tests can
//! build any environment. Owns no tool calls and no I/O beyond reading the environment.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use super::names::{is_endpoint_name, parse_relation_number, AppName, RelationId, UnitName};
use crate::plan::types::show;

/// How the binary was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// By Juju, for a hook or an action (`JUJU_UNIT_NAME` is set).
    Juju(Box<Context>),
    /// By a person or a script outside Juju: the arguments after argv[0].
    Command { args: Vec<String> },
}

/// Everything Juju tells a hook or action through its environment (spec §1.3). Each field
/// names the variable it comes from, with an example, like ops' `jujucontext.py`. A variable
/// that is present but empty counts as absent, as in ops (spec §1.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// `JUJU_UNIT_NAME`: this unit, e.g. `haproxy-lb/0`. Its application is [`Context::app`].
    pub unit: UnitName,
    /// `JUJU_MODEL_NAME`: the model's name, e.g. `production`.
    pub model_name: String,
    /// `JUJU_MODEL_UUID`: the model's UUID, e.g. `2b3c4d5e-0f1a-4b2c-8d3e-4f5a6b7c8d9e`.
    pub model_uuid: String,
    /// `JUJU_CHARM_DIR` (or the legacy `CHARM_DIR`): the charm's directory, absolute, e.g.
    /// `/var/lib/juju/agents/unit-haproxy-lb-0/charm`.
    pub charm_dir: PathBuf,
    /// `JUJU_DISPATCH_PATH` (`hooks/install`, `actions/show-stats`), else the basename of
    /// argv[0] (old Juju running a `hooks/install -> ../dispatch` symlink).
    pub dispatch: Dispatch,
    /// Set in relation hooks only: `JUJU_RELATION`, `JUJU_RELATION_ID`, `JUJU_REMOTE_APP`,
    /// `JUJU_REMOTE_UNIT`, `JUJU_DEPARTING_UNIT`.
    pub relation: Option<RelationContext>,
    /// `JUJU_VERSION`: the agent's version, e.g. `3.6.8`.
    pub juju_version: JujuVersion,
    /// `JUJU_MACHINE_ID`: the machine this unit runs on, e.g. `0` or `0/lxd/3`; `None` when
    /// empty (Kubernetes).
    pub machine_id: Option<String>,
    /// `JUJU_AVAILABILITY_ZONE`: e.g. `us-east-1a`; `None` when the cloud has none.
    pub availability_zone: Option<String>,
    /// `PATH`: where the hook tools are found (Juju puts its tools directory first, spec §1.2).
    pub tool_search_path: String,
}

impl Context {
    /// This unit's application, e.g. `haproxy-lb`.
    pub fn app(&self) -> &AppName {
        self.unit.app()
    }

    /// The hook's name, e.g. `website-relation-joined`; `None` for an action.
    pub fn hook_name(&self) -> Option<&str> {
        match &self.dispatch {
            Dispatch::Hook { name } => Some(name),
            Dispatch::Action(_) => None,
        }
    }

    /// Reads the process environment and argv: the only reader of `std::env` in this crate.
    pub fn from_env() -> Result<Invocation, ContextError> {
        let mut vars = BTreeMap::new();
        let mut not_utf8 = BTreeSet::new();
        for (name, value) in std::env::vars_os() {
            match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => {
                    vars.insert(name, value);
                }
                (Ok(name), Err(_)) => {
                    not_utf8.insert(name);
                }
                // A variable whose *name* is not UTF-8 is none of Juju's.
                (Err(_), _) => {}
            }
        }
        let argv: Vec<String> = std::env::args_os()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        Self::parse(&Vars { vars, not_utf8 }, &argv)
    }

    /// Builds the invocation from an explicit environment and argv (argv[0] first).
    pub fn from_parts(
        vars: &BTreeMap<String, String>,
        argv: &[String],
    ) -> Result<Invocation, ContextError> {
        let vars = Vars {
            vars: vars.clone(),
            not_utf8: BTreeSet::new(),
        };
        Self::parse(&vars, argv)
    }

    fn parse(vars: &Vars, argv: &[String]) -> Result<Invocation, ContextError> {
        let Some(unit) = vars.get("JUJU_UNIT_NAME")? else {
            return Ok(Invocation::Command {
                args: argv.iter().skip(1).cloned().collect(),
            });
        };
        let unit = unit
            .parse::<UnitName>()
            .map_err(|e| ContextError::malformed("JUJU_UNIT_NAME", unit, e.reason))?;
        let dispatch = parse_dispatch(vars, argv.first().map(String::as_str))?;
        let relation = parse_relation(vars, &dispatch)?;
        let model_uuid = vars.require("JUJU_MODEL_UUID", "every hook")?;
        if !is_uuid(model_uuid) {
            return Err(ContextError::malformed(
                "JUJU_MODEL_UUID",
                model_uuid,
                "expected a UUID like 2b3c4d5e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
            ));
        }
        let charm_dir = match vars.get("JUJU_CHARM_DIR")? {
            Some(dir) => ("JUJU_CHARM_DIR", dir),
            None => match vars.get("CHARM_DIR")? {
                Some(dir) => ("CHARM_DIR", dir),
                None => (
                    "JUJU_CHARM_DIR",
                    vars.require("JUJU_CHARM_DIR", "every hook")?,
                ),
            },
        };
        if !charm_dir.1.starts_with('/') {
            return Err(ContextError::malformed(
                charm_dir.0,
                charm_dir.1,
                "expected an absolute path",
            ));
        }
        let version = vars.require("JUJU_VERSION", "every hook")?;
        let juju_version = version
            .parse::<JujuVersion>()
            .map_err(|reason| ContextError::malformed("JUJU_VERSION", version, reason))?;
        let machine_id = match vars.get("JUJU_MACHINE_ID")? {
            Some(id) if is_machine_id(id) => Some(id.to_owned()),
            Some(id) => {
                return Err(ContextError::malformed(
                    "JUJU_MACHINE_ID",
                    id,
                    "expected a machine id like 0 or 0/lxd/3",
                ))
            }
            None => None,
        };
        Ok(Invocation::Juju(Box::new(Context {
            unit,
            model_name: vars.require("JUJU_MODEL_NAME", "every hook")?.to_owned(),
            model_uuid: model_uuid.to_owned(),
            charm_dir: PathBuf::from(charm_dir.1),
            dispatch,
            relation,
            juju_version,
            machine_id,
            availability_zone: vars.get("JUJU_AVAILABILITY_ZONE")?.map(str::to_owned),
            tool_search_path: vars.require("PATH", "finding the hook tools")?.to_owned(),
        })))
    }
}

/// What Juju asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// A hook, e.g. `install` or `website-relation-joined`.
    Hook { name: String },
    /// An action.
    Action(ActionContext),
}

/// The running action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionContext {
    /// `JUJU_ACTION_NAME` (and `JUJU_DISPATCH_PATH=actions/<name>`), e.g. `show-stats`.
    pub name: String,
    /// `JUJU_ACTION_UUID`: the action id, e.g. `6` (Juju 3) or a UUID (Juju 2).
    pub id: String,
}

/// The relation a relation hook is about (spec §1.3, §2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationContext {
    /// `JUJU_RELATION` and `JUJU_RELATION_ID`: e.g. `website:3`. Juju sends `website:3`; a bare
    /// `3` is accepted too, with the endpoint taken from `JUJU_RELATION`.
    pub id: RelationId,
    /// `JUJU_REMOTE_APP`: the other application, e.g. `wordpress` (our own for peers).
    pub remote_app: AppName,
    /// `JUJU_REMOTE_UNIT`: e.g. `wordpress/1`; `None` in `-created`, `-broken` and an
    /// application-bag `-changed`.
    pub remote_unit: Option<UnitName>,
    /// `JUJU_DEPARTING_UNIT`: in `-departed` only, e.g. `wordpress/1` (our own unit when we
    /// are the one leaving).
    pub departing_unit: Option<UnitName>,
}

/// The relation events Juju fires, by hook-name suffix (spec §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationEvent {
    Created,
    Joined,
    Changed,
    Departed,
    Broken,
}

/// Splits `website-relation-joined` into (`website`, Joined).
pub fn relation_event(hook_name: &str) -> Option<(&str, RelationEvent)> {
    [
        ("-relation-created", RelationEvent::Created),
        ("-relation-joined", RelationEvent::Joined),
        ("-relation-changed", RelationEvent::Changed),
        ("-relation-departed", RelationEvent::Departed),
        ("-relation-broken", RelationEvent::Broken),
    ]
    .into_iter()
    .find_map(|(suffix, event)| {
        hook_name
            .strip_suffix(suffix)
            .filter(|endpoint| !endpoint.is_empty())
            .map(|endpoint| (endpoint, event))
    })
}

/// A Juju agent version: `3.6.8`, `3.6.8.1`, `3.6-beta2` (Juju's `major.minor(.|-tag)patch
/// (.build)?` form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JujuVersion {
    pub major: u32,
    pub minor: u32,
    /// e.g. `beta` in `3.6-beta2`.
    pub tag: Option<String>,
    pub patch: u32,
    pub build: u32,
}

impl JujuVersion {
    /// True when this version is at least `major.minor.patch` (tags sort before releases).
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        let released = (self.major, self.minor, self.patch) >= (major, minor, patch);
        let same = (self.major, self.minor, self.patch) == (major, minor, patch);
        released && !(same && self.tag.is_some())
    }
}

impl std::str::FromStr for JujuVersion {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const SHAPE: &str = "expected a Juju version like 3.6.8, 3.6.8.1 or 3.6-beta2";
        let number = |text: &str| -> Result<u32, &'static str> {
            if text.is_empty() || text.len() > 9 || !text.chars().all(|c| c.is_ascii_digit()) {
                return Err(SHAPE);
            }
            text.parse().map_err(|_| SHAPE)
        };
        let (major, rest) = s.split_once('.').ok_or(SHAPE)?;
        let minor_end = rest.find(|c: char| !c.is_ascii_digit()).ok_or(SHAPE)?;
        let (minor, rest) = rest.split_at(minor_end);
        let (tag, rest) = if let Some(rest) = rest.strip_prefix('.') {
            (None, rest)
        } else if let Some(rest) = rest.strip_prefix('-') {
            let tag_end = rest.find(|c: char| !c.is_ascii_lowercase()).ok_or(SHAPE)?;
            if tag_end == 0 {
                return Err(SHAPE);
            }
            (Some(rest[..tag_end].to_owned()), &rest[tag_end..])
        } else {
            return Err(SHAPE);
        };
        let (patch, build) = match rest.split_once('.') {
            Some((patch, build)) => (number(patch)?, number(build)?),
            None => (number(rest)?, 0),
        };
        Ok(Self {
            major: number(major)?,
            minor: number(minor)?,
            tag,
            patch,
            build,
        })
    }
}

impl fmt::Display for JujuVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "{}.{}-{tag}{}", self.major, self.minor, self.patch)?,
            None => write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?,
        }
        if self.build != 0 {
            write!(f, ".{}", self.build)?;
        }
        Ok(())
    }
}

/// A variable that is missing, not UTF-8, or does not have the shape Juju gives it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContextError {
    #[error("{variable} is not set (needed for {needed_for})")]
    Missing {
        variable: &'static str,
        needed_for: String,
    },
    #[error("{variable}={}: {reason}", show(.value))]
    Malformed {
        variable: &'static str,
        value: String,
        reason: String,
    },
    #[error("{variable} is not valid UTF-8")]
    NotUtf8 { variable: &'static str },
}

impl ContextError {
    fn malformed(variable: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ContextError::Malformed {
            variable,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The environment as read, with the names of variables that were not UTF-8.
struct Vars {
    vars: BTreeMap<String, String>,
    not_utf8: BTreeSet<String>,
}

impl Vars {
    /// The value, `None` when unset or empty.
    fn get(&self, variable: &'static str) -> Result<Option<&str>, ContextError> {
        if self.not_utf8.contains(variable) {
            return Err(ContextError::NotUtf8 { variable });
        }
        Ok(self
            .vars
            .get(variable)
            .map(String::as_str)
            .filter(|v| !v.is_empty()))
    }

    fn require(&self, variable: &'static str, needed_for: &str) -> Result<&str, ContextError> {
        self.get(variable)?.ok_or_else(|| ContextError::Missing {
            variable,
            needed_for: needed_for.to_owned(),
        })
    }

    fn unit(&self, variable: &'static str) -> Result<Option<UnitName>, ContextError> {
        self.get(variable)?
            .map(|v| {
                v.parse::<UnitName>()
                    .map_err(|e| ContextError::malformed(variable, v, e.reason))
            })
            .transpose()
    }
}

/// Hook and action names: lowercase letters, digits, `-` and `_` (endpoint and storage names
/// may hold `_`), starting with a letter.
fn is_handler_name(name: &str) -> bool {
    is_endpoint_name(name)
}

fn parse_dispatch(vars: &Vars, argv0: Option<&str>) -> Result<Dispatch, ContextError> {
    // (kind directory, name, where it came from)
    let (kind, name, source): (&str, &str, &'static str) = match vars.get("JUJU_DISPATCH_PATH")? {
        Some(path) => {
            let Some((kind, name)) = path.split_once('/') else {
                return Err(ContextError::malformed(
                    "JUJU_DISPATCH_PATH",
                    path,
                    "expected hooks/<name> or actions/<name>",
                ));
            };
            (kind, name, "JUJU_DISPATCH_PATH")
        }
        None => {
            // Old Juju runs `hooks/<name>` (a symlink to dispatch) without the variable.
            let argv0 = argv0.unwrap_or("");
            let path = std::path::Path::new(argv0);
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let parent = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or("");
            if name == "dispatch" || name.is_empty() {
                return Err(ContextError::Missing {
                    variable: "JUJU_DISPATCH_PATH",
                    needed_for: format!("knowing which hook to run: argv[0] is {}", show(argv0)),
                });
            }
            let kind = if parent == "actions" {
                "actions"
            } else {
                "hooks"
            };
            (kind, name, "argv[0]")
        }
    };
    let malformed = |reason: &str| {
        let value = match source {
            "argv[0]" => argv0.unwrap_or("").to_owned(),
            _ => format!("{kind}/{name}"),
        };
        ContextError::Malformed {
            variable: if source == "argv[0]" {
                "argv[0]"
            } else {
                "JUJU_DISPATCH_PATH"
            },
            value,
            reason: reason.to_owned(),
        }
    };
    if !is_handler_name(name) {
        return Err(malformed(
            "the hook or action name must be lowercase letters, digits, '-' or '_'",
        ));
    }
    match kind {
        "hooks" => {
            // Juju sets JUJU_HOOK_NAME to the same name; a disagreement means a broken caller.
            if let Some(hook) = vars.get("JUJU_HOOK_NAME")? {
                if hook != name {
                    return Err(ContextError::malformed(
                        "JUJU_HOOK_NAME",
                        hook,
                        format!("disagrees with {source} naming hook {}", show(name)),
                    ));
                }
            }
            Ok(Dispatch::Hook {
                name: name.to_owned(),
            })
        }
        "actions" => {
            if let Some(action) = vars.get("JUJU_ACTION_NAME")? {
                if action != name {
                    return Err(ContextError::malformed(
                        "JUJU_ACTION_NAME",
                        action,
                        format!("disagrees with {source} naming action {}", show(name)),
                    ));
                }
            }
            let id = vars.require("JUJU_ACTION_UUID", "every action")?;
            Ok(Dispatch::Action(ActionContext {
                name: name.to_owned(),
                id: id.to_owned(),
            }))
        }
        _ => Err(malformed("expected hooks/<name> or actions/<name>")),
    }
}

fn parse_relation(
    vars: &Vars,
    dispatch: &Dispatch,
) -> Result<Option<RelationContext>, ContextError> {
    let event = match dispatch {
        Dispatch::Hook { name } => relation_event(name),
        Dispatch::Action(_) => None,
    };
    let Some(raw_id) = vars.get("JUJU_RELATION_ID")? else {
        return match event {
            Some((endpoint, _)) => Err(ContextError::Missing {
                variable: "JUJU_RELATION_ID",
                needed_for: format!("a relation hook of endpoint {endpoint}"),
            }),
            None => Ok(None),
        };
    };
    let needed_for = |what: &str| match event {
        Some((endpoint, _)) => format!("{what} of endpoint {endpoint}"),
        None => format!("{what} (JUJU_RELATION_ID is set)"),
    };
    // Juju sends `name:N`; accept a bare `N` too, with the endpoint from JUJU_RELATION.
    let (prefix, number) = match raw_id.rsplit_once(':') {
        Some((prefix, number)) => (Some(prefix), number),
        None => (None, raw_id),
    };
    let number = parse_relation_number(number).ok_or_else(|| {
        ContextError::malformed(
            "JUJU_RELATION_ID",
            raw_id,
            "expected <endpoint>:<number> or <number>, e.g. website:3",
        )
    })?;
    let endpoint = match (vars.get("JUJU_RELATION")?, prefix) {
        (Some(endpoint), Some(prefix)) if endpoint != prefix => {
            return Err(ContextError::malformed(
                "JUJU_RELATION_ID",
                raw_id,
                format!(
                    "its endpoint disagrees with JUJU_RELATION={}",
                    show(endpoint)
                ),
            ))
        }
        (Some(endpoint), _) => ("JUJU_RELATION", endpoint),
        (None, Some(prefix)) => ("JUJU_RELATION_ID", prefix),
        (None, None) => {
            return Err(ContextError::Missing {
                variable: "JUJU_RELATION",
                needed_for: needed_for("a bare JUJU_RELATION_ID"),
            })
        }
    };
    if let Some((hook_endpoint, _)) = event {
        if hook_endpoint != endpoint.1 {
            return Err(ContextError::malformed(
                endpoint.0,
                endpoint.1,
                format!("disagrees with the hook's endpoint {}", show(hook_endpoint)),
            ));
        }
    }
    let id = RelationId::new(endpoint.1, number)
        .map_err(|e| ContextError::malformed(endpoint.0, endpoint.1, e.reason))?;
    let remote_app_text = vars.require("JUJU_REMOTE_APP", &needed_for("a relation hook"))?;
    let remote_app = remote_app_text
        .parse::<AppName>()
        .map_err(|e| ContextError::malformed("JUJU_REMOTE_APP", remote_app_text, e.reason))?;
    let remote_unit = vars.unit("JUJU_REMOTE_UNIT")?;
    let departing_unit = vars.unit("JUJU_DEPARTING_UNIT")?;
    match event {
        Some((_, RelationEvent::Joined | RelationEvent::Departed)) if remote_unit.is_none() => {
            return Err(ContextError::Missing {
                variable: "JUJU_REMOTE_UNIT",
                needed_for: needed_for("a -joined or -departed hook"),
            })
        }
        Some((_, RelationEvent::Departed)) if departing_unit.is_none() => {
            return Err(ContextError::Missing {
                variable: "JUJU_DEPARTING_UNIT",
                needed_for: needed_for("a -departed hook"),
            })
        }
        _ => {}
    }
    Ok(Some(RelationContext {
        id,
        remote_app,
        remote_unit,
        departing_unit,
    }))
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Juju machine ids: `0`, `12`, `0/lxd/3`, `1/kvm/0/lxd/2`.
fn is_machine_id(text: &str) -> bool {
    let number = |t: &str| {
        !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) && (t == "0" || !t.starts_with('0'))
    };
    let parts: Vec<&str> = text.split('/').collect();
    parts.len() % 2 == 1
        && number(parts[0])
        && parts[1..].chunks(2).all(|pair| {
            !pair[0].is_empty()
                && pair[0].chars().all(|c| c.is_ascii_lowercase())
                && number(pair[1])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "2b3c4d5e-0f1a-4b2c-8d3e-4f5a6b7c8d9e";

    fn hook_env(hook: &str) -> BTreeMap<String, String> {
        [
            ("JUJU_UNIT_NAME", "haproxy-lb/0"),
            ("JUJU_MODEL_NAME", "prod"),
            ("JUJU_MODEL_UUID", UUID),
            (
                "JUJU_CHARM_DIR",
                "/var/lib/juju/agents/unit-haproxy-lb-0/charm",
            ),
            ("JUJU_VERSION", "3.6.8"),
            ("JUJU_MACHINE_ID", "0"),
            ("JUJU_AVAILABILITY_ZONE", "zone-a"),
            (
                "PATH",
                "/var/lib/juju/tools/unit-haproxy-lb-0:/usr/bin:/bin",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain([
            ("JUJU_DISPATCH_PATH".to_owned(), format!("hooks/{hook}")),
            ("JUJU_HOOK_NAME".to_owned(), hook.to_owned()),
        ])
        .collect()
    }

    fn with(
        mut env: BTreeMap<String, String>,
        changes: &[(&str, &str)],
    ) -> BTreeMap<String, String> {
        for (k, v) in changes {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        env
    }

    fn without(mut env: BTreeMap<String, String>, names: &[&str]) -> BTreeMap<String, String> {
        for name in names {
            env.remove(*name);
        }
        env
    }

    fn argv() -> Vec<String> {
        vec!["/var/lib/juju/agents/unit-haproxy-lb-0/charm/dispatch".to_owned()]
    }

    fn context(env: &BTreeMap<String, String>) -> Result<Context, ContextError> {
        match Context::from_parts(env, &argv())? {
            Invocation::Juju(ctx) => Ok(*ctx),
            other => panic!("expected a Juju invocation, got {other:?}"),
        }
    }

    fn relation_env(hook: &str) -> BTreeMap<String, String> {
        with(
            hook_env(hook),
            &[
                ("JUJU_RELATION", "website"),
                ("JUJU_RELATION_ID", "website:3"),
                ("JUJU_REMOTE_APP", "wordpress"),
                ("JUJU_REMOTE_UNIT", "wordpress/1"),
            ],
        )
    }

    #[test]
    fn every_variable_of_a_plain_hook_is_read() {
        let ctx = context(&hook_env("install")).unwrap();
        assert_eq!(ctx.unit.to_string(), "haproxy-lb/0");
        assert_eq!(ctx.app().as_str(), "haproxy-lb");
        assert_eq!(ctx.model_name, "prod");
        assert_eq!(ctx.model_uuid, UUID);
        assert_eq!(
            ctx.charm_dir,
            PathBuf::from("/var/lib/juju/agents/unit-haproxy-lb-0/charm")
        );
        assert_eq!(
            ctx.dispatch,
            Dispatch::Hook {
                name: "install".into()
            }
        );
        assert_eq!(ctx.hook_name(), Some("install"));
        assert_eq!(ctx.relation, None);
        assert_eq!(ctx.juju_version.to_string(), "3.6.8");
        assert_eq!(ctx.machine_id.as_deref(), Some("0"));
        assert_eq!(ctx.availability_zone.as_deref(), Some("zone-a"));
        assert_eq!(
            ctx.tool_search_path,
            "/var/lib/juju/tools/unit-haproxy-lb-0:/usr/bin:/bin"
        );
    }

    #[test]
    fn no_unit_name_means_a_command_line_run() {
        let args = vec!["haproxy-lb".to_owned(), "--version".to_owned()];
        for env in [
            BTreeMap::new(),
            with(hook_env("install"), &[("JUJU_UNIT_NAME", "")]),
        ] {
            assert_eq!(
                Context::from_parts(&env, &args).unwrap(),
                Invocation::Command {
                    args: vec!["--version".to_owned()]
                }
            );
        }
    }

    #[test]
    fn empty_optional_variables_are_absent() {
        let env = with(
            hook_env("install"),
            &[("JUJU_MACHINE_ID", ""), ("JUJU_AVAILABILITY_ZONE", "")],
        );
        let ctx = context(&env).unwrap();
        assert_eq!((ctx.machine_id, ctx.availability_zone), (None, None));
    }

    #[test]
    fn legacy_charm_dir_is_used_when_the_new_one_is_absent() {
        let env = with(
            without(hook_env("install"), &["JUJU_CHARM_DIR"]),
            &[("CHARM_DIR", "/srv/charm")],
        );
        assert_eq!(
            context(&env).unwrap().charm_dir,
            PathBuf::from("/srv/charm")
        );
    }

    #[test]
    fn missing_required_variables_are_named() {
        for variable in [
            "JUJU_MODEL_NAME",
            "JUJU_MODEL_UUID",
            "JUJU_CHARM_DIR",
            "JUJU_VERSION",
            "PATH",
        ] {
            let err = context(&without(hook_env("install"), &[variable])).unwrap_err();
            assert!(
                matches!(err, ContextError::Missing { variable: v, .. } if v == variable),
                "{variable}: {err}"
            );
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn malformed_variables_are_named_with_their_value() {
        let cases = [
            ("JUJU_UNIT_NAME", "haproxy-lb"),
            ("JUJU_UNIT_NAME", "HAProxy/0"),
            ("JUJU_MODEL_UUID", "not-a-uuid"),
            ("JUJU_CHARM_DIR", "relative/charm"),
            ("JUJU_VERSION", "three"),
            ("JUJU_VERSION", "3.6"),
            ("JUJU_VERSION", "3.6.x"),
            ("JUJU_MACHINE_ID", "0/lxd"),
            ("JUJU_MACHINE_ID", "01"),
            ("JUJU_DISPATCH_PATH", "install"),
            ("JUJU_DISPATCH_PATH", "scripts/install"),
            ("JUJU_DISPATCH_PATH", "hooks/Install"),
            ("JUJU_HOOK_NAME", "start"),
        ];
        for (variable, value) in cases {
            let err = context(&with(hook_env("install"), &[(variable, value)])).unwrap_err();
            match &err {
                ContextError::Malformed {
                    variable: v,
                    value: got,
                    ..
                } => {
                    assert_eq!((*v, got.as_str()), (variable, value), "{err}");
                }
                other => panic!("{variable}={value}: expected Malformed, got {other:?}"),
            }
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn juju_versions_parse_with_tags_and_builds() {
        for (text, major, minor, tag, patch, build) in [
            ("3.6.8", 3, 6, None, 8, 0),
            ("2.9.42.1", 2, 9, None, 42, 1),
            ("3.6-beta2", 3, 6, Some("beta"), 2, 0),
            ("4.0-rc1.3", 4, 0, Some("rc"), 1, 3),
        ] {
            let v: JujuVersion = text.parse().unwrap();
            assert_eq!(
                (v.major, v.minor, v.tag.as_deref(), v.patch, v.build),
                (major, minor, tag, patch, build)
            );
            assert_eq!(v.to_string(), text);
        }
        for bad in [
            "",
            "3",
            "3.6",
            "3.6.",
            "3.6.8.",
            "3.6-2",
            "3.6-Beta2",
            "v3.6.8",
            "3.6.8-1",
        ] {
            assert!(bad.parse::<JujuVersion>().is_err(), "{bad}");
        }
        let v: JujuVersion = "3.6.2".parse().unwrap();
        assert!(v.at_least(3, 6, 2) && v.at_least(2, 7, 0) && !v.at_least(3, 6, 3));
        assert!(!"3.6-beta2"
            .parse::<JujuVersion>()
            .unwrap()
            .at_least(3, 6, 2));
    }

    #[test]
    fn relation_hook_reads_every_relation_variable() {
        let ctx = context(&relation_env("website-relation-joined")).unwrap();
        let rel = ctx.relation.unwrap();
        assert_eq!(rel.id.to_string(), "website:3");
        assert_eq!(rel.remote_app.as_str(), "wordpress");
        assert_eq!(rel.remote_unit.unwrap().to_string(), "wordpress/1");
        assert_eq!(rel.departing_unit, None);
    }

    #[test]
    fn relation_id_accepts_both_forms() {
        for raw in ["website:3", "3"] {
            let env = with(
                relation_env("website-relation-changed"),
                &[("JUJU_RELATION_ID", raw)],
            );
            let rel = context(&env).unwrap().relation.unwrap();
            assert_eq!((rel.id.endpoint(), rel.id.id()), ("website", 3), "{raw}");
        }
        // The `name:N` form alone names the endpoint.
        let env = with(
            without(relation_env("website-relation-changed"), &["JUJU_RELATION"]),
            &[("JUJU_RELATION_ID", "website:3")],
        );
        assert_eq!(
            context(&env).unwrap().relation.unwrap().id.to_string(),
            "website:3"
        );
    }

    #[test]
    fn relation_id_errors_name_the_variable() {
        for raw in ["website:x", "x", "website:", "website:-1", "db:3"] {
            let env = with(
                relation_env("website-relation-changed"),
                &[("JUJU_RELATION_ID", raw)],
            );
            let err = context(&env).unwrap_err();
            assert!(
                matches!(
                    &err,
                    ContextError::Malformed {
                        variable: "JUJU_RELATION_ID",
                        ..
                    }
                ),
                "{raw}: {err:?}"
            );
        }
        let bare_without_endpoint = with(
            without(relation_env("website-relation-changed"), &["JUJU_RELATION"]),
            &[("JUJU_RELATION_ID", "3")],
        );
        assert!(matches!(
            context(&bare_without_endpoint).unwrap_err(),
            ContextError::Missing {
                variable: "JUJU_RELATION",
                ..
            }
        ));
        let other_endpoint = with(
            relation_env("website-relation-changed"),
            &[("JUJU_RELATION", "db"), ("JUJU_RELATION_ID", "db:3")],
        );
        assert!(matches!(
            context(&other_endpoint).unwrap_err(),
            ContextError::Malformed {
                variable: "JUJU_RELATION",
                ..
            }
        ));
    }

    #[test]
    fn relation_hooks_require_their_variables() {
        let cases = [
            ("website-relation-changed", "JUJU_RELATION_ID"),
            ("website-relation-changed", "JUJU_REMOTE_APP"),
            ("website-relation-joined", "JUJU_REMOTE_UNIT"),
            ("website-relation-departed", "JUJU_DEPARTING_UNIT"),
        ];
        for (hook, variable) in cases {
            let mut env = relation_env(hook);
            env.insert("JUJU_DEPARTING_UNIT".into(), "wordpress/1".into());
            let err = context(&without(env, &[variable])).unwrap_err();
            assert!(
                matches!(&err, ContextError::Missing { variable: v, .. } if *v == variable),
                "{hook} without {variable}: {err:?}"
            );
        }
        // An application-bag -changed and -created/-broken have no remote unit.
        for hook in [
            "website-relation-changed",
            "website-relation-created",
            "website-relation-broken",
        ] {
            let env = with(relation_env(hook), &[("JUJU_REMOTE_UNIT", "")]);
            assert_eq!(
                context(&env).unwrap().relation.unwrap().remote_unit,
                None,
                "{hook}"
            );
        }
    }

    #[test]
    fn departed_hook_reads_the_departing_unit() {
        let env = with(
            relation_env("website-relation-departed"),
            &[("JUJU_DEPARTING_UNIT", "haproxy-lb/0")],
        );
        let rel = context(&env).unwrap().relation.unwrap();
        assert_eq!(rel.departing_unit.unwrap().to_string(), "haproxy-lb/0");
        let bad = with(env.clone(), &[("JUJU_DEPARTING_UNIT", "nope")]);
        assert!(matches!(
            context(&bad).unwrap_err(),
            ContextError::Malformed {
                variable: "JUJU_DEPARTING_UNIT",
                ..
            }
        ));
        let bad = with(env, &[("JUJU_REMOTE_UNIT", "wordpress")]);
        assert!(matches!(
            context(&bad).unwrap_err(),
            ContextError::Malformed {
                variable: "JUJU_REMOTE_UNIT",
                ..
            }
        ));
    }

    #[test]
    fn remote_app_must_be_an_application_name() {
        let env = with(
            relation_env("website-relation-changed"),
            &[("JUJU_REMOTE_APP", "Word Press")],
        );
        assert!(matches!(
            context(&env).unwrap_err(),
            ContextError::Malformed {
                variable: "JUJU_REMOTE_APP",
                ..
            }
        ));
    }

    #[test]
    fn action_reads_name_and_id() {
        let env = with(
            without(hook_env("install"), &["JUJU_HOOK_NAME"]),
            &[
                ("JUJU_DISPATCH_PATH", "actions/show-stats"),
                ("JUJU_ACTION_NAME", "show-stats"),
                ("JUJU_ACTION_UUID", "6"),
            ],
        );
        let ctx = context(&env).unwrap();
        assert_eq!(
            ctx.dispatch,
            Dispatch::Action(ActionContext {
                name: "show-stats".into(),
                id: "6".into()
            })
        );
        assert_eq!(ctx.hook_name(), None);
        let no_id = without(env.clone(), &["JUJU_ACTION_UUID"]);
        assert!(matches!(
            context(&no_id).unwrap_err(),
            ContextError::Missing {
                variable: "JUJU_ACTION_UUID",
                ..
            }
        ));
        let other_name = with(env, &[("JUJU_ACTION_NAME", "reload")]);
        assert!(matches!(
            context(&other_name).unwrap_err(),
            ContextError::Malformed {
                variable: "JUJU_ACTION_NAME",
                ..
            }
        ));
    }

    #[test]
    fn argv0_names_the_hook_when_dispatch_path_is_absent() {
        let env = without(
            hook_env("install"),
            &["JUJU_DISPATCH_PATH", "JUJU_HOOK_NAME"],
        );
        let run = |argv0: &str| match Context::from_parts(&env, &[argv0.to_owned()]) {
            Ok(Invocation::Juju(ctx)) => Ok(ctx.dispatch),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(
            run("/charm/hooks/config-changed").unwrap(),
            Dispatch::Hook {
                name: "config-changed".into()
            }
        );
        assert_eq!(
            run("install").unwrap(),
            Dispatch::Hook {
                name: "install".into()
            }
        );
        let action_env = with(env.clone(), &[("JUJU_ACTION_UUID", "7")]);
        assert_eq!(
            match Context::from_parts(&action_env, &["/charm/actions/show-stats".to_owned()]) {
                Ok(Invocation::Juju(ctx)) => ctx.dispatch,
                other => panic!("{other:?}"),
            },
            Dispatch::Action(ActionContext {
                name: "show-stats".into(),
                id: "7".into()
            })
        );
        assert!(matches!(
            run("/charm/dispatch").unwrap_err(),
            ContextError::Missing {
                variable: "JUJU_DISPATCH_PATH",
                ..
            }
        ));
        assert!(matches!(
            run("/charm/hooks/Bad Name").unwrap_err(),
            ContextError::Malformed {
                variable: "argv[0]",
                ..
            }
        ));
    }

    #[test]
    fn relation_event_splits_hook_names() {
        assert_eq!(
            relation_event("lb-consumers-relation-departed"),
            Some(("lb-consumers", RelationEvent::Departed))
        );
        assert_eq!(relation_event("install"), None);
        assert_eq!(relation_event("-relation-joined"), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_value_of_any_variable_gives_a_context_or_a_typed_error(
                variable in prop::sample::select(vec![
                    "JUJU_UNIT_NAME", "JUJU_MODEL_UUID", "JUJU_CHARM_DIR", "JUJU_VERSION",
                    "JUJU_MACHINE_ID", "JUJU_DISPATCH_PATH", "JUJU_HOOK_NAME", "JUJU_RELATION",
                    "JUJU_RELATION_ID", "JUJU_REMOTE_APP", "JUJU_REMOTE_UNIT",
                    "JUJU_DEPARTING_UNIT", "JUJU_ACTION_NAME", "JUJU_ACTION_UUID",
                ]),
                value in "\\PC{0,30}",
            ) {
                let env = with(relation_env("website-relation-departed"), &[
                    ("JUJU_DEPARTING_UNIT", "wordpress/1"),
                    (variable, value.as_str()),
                ]);
                if let Err(err) = Context::from_parts(&env, &argv()) {
                    // Every error names a variable (or argv[0]).
                    let text = err.to_string();
                    prop_assert!(text.contains("JUJU_") || text.contains("argv[0]"), "{}", text);
                }
            }

            #[test]
            fn juju_versions_round_trip(
                major in 0u32..10, minor in 0u32..100, patch in 0u32..1000,
                tag in prop::option::of("[a-z]{1,6}"), build in 0u32..10,
            ) {
                let v = JujuVersion { major, minor, tag, patch, build };
                prop_assert_eq!(v.to_string().parse::<JujuVersion>().unwrap(), v);
            }
        }
    }
}
