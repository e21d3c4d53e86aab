//! Reading a charm: `metadata.yaml` (endpoints, subordinate), `config.yaml` (options with types
//! and defaults) and `actions.yaml` (params schemas), and unpacking a charm source (a `.charm`
//! zip or a directory) into a directory. It never touches the model state.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CharmError {
    #[error("charm {path}: {what}")]
    Invalid { path: String, what: String },
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("unpacking {path}: {detail}")]
    Unpack { path: String, detail: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Provider,
    Requirer,
    Peer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub interface: String,
    pub role: Role,
    /// `scope: container` (subordinate relations).
    pub container_scope: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    String,
    Int,
    Float,
    Boolean,
    Secret,
}

impl OptionType {
    pub fn name(self) -> &'static str {
        match self {
            OptionType::String => "string",
            OptionType::Int => "int",
            OptionType::Float => "float",
            OptionType::Boolean => "boolean",
            OptionType::Secret => "secret",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOption {
    pub kind: OptionType,
    pub default: Option<Value>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionSpec {
    pub description: String,
    /// The JSON schema Juju builds for the action: `{"type":"object","properties":…}`.
    pub schema: Value,
}

#[derive(Debug, Clone)]
pub struct Charm {
    pub dir: PathBuf,
    pub name: String,
    pub subordinate: bool,
    /// Declared endpoints plus the implicit `juju-info` provider.
    pub endpoints: BTreeMap<String, Endpoint>,
    pub extra_bindings: Vec<String>,
    pub config: BTreeMap<String, ConfigOption>,
    pub actions: BTreeMap<String, ActionSpec>,
}

fn read_yaml(path: &Path) -> Result<Option<serde_yaml::Value>, CharmError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_yaml::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CharmError::Invalid {
                path: path.display().to_string(),
                what: format!("not YAML: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CharmError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn yaml_to_json(v: &serde_yaml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl Charm {
    /// Reads an unpacked charm directory.
    pub fn load(dir: &Path) -> Result<Charm, CharmError> {
        let invalid = |what: String| CharmError::Invalid {
            path: dir.display().to_string(),
            what,
        };
        // §1.1: metadata.yaml must exist ("charm missing from disk" otherwise).
        let meta = read_yaml(&dir.join("metadata.yaml"))?
            .ok_or_else(|| invalid("metadata.yaml missing".into()))?;
        let meta = yaml_to_json(&meta);
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("metadata.yaml has no name".into()))?
            .to_string();
        let subordinate = meta
            .get("subordinate")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut endpoints = BTreeMap::new();
        for (section, role) in [
            ("provides", Role::Provider),
            ("requires", Role::Requirer),
            ("peers", Role::Peer),
        ] {
            let Some(map) = meta.get(section).and_then(Value::as_object) else {
                continue;
            };
            for (ep, spec) in map {
                let interface = match spec {
                    Value::String(s) => s.clone(),
                    other => other
                        .get("interface")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid(format!("endpoint {ep:?} has no interface")))?
                        .to_string(),
                };
                let container_scope =
                    spec.get("scope").and_then(Value::as_str) == Some("container");
                endpoints.insert(
                    ep.clone(),
                    Endpoint {
                        name: ep.clone(),
                        interface,
                        role,
                        container_scope,
                    },
                );
            }
        }
        // Every charm implicitly provides juju-info.
        endpoints
            .entry("juju-info".to_string())
            .or_insert_with(|| Endpoint {
                name: "juju-info".into(),
                interface: "juju-info".into(),
                role: Role::Provider,
                container_scope: false,
            });
        let extra_bindings = meta
            .get("extra-bindings")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();

        let mut config = BTreeMap::new();
        if let Some(cfg) = read_yaml(&dir.join("config.yaml"))? {
            let cfg = yaml_to_json(&cfg);
            if let Some(opts) = cfg.get("options").and_then(Value::as_object) {
                for (key, spec) in opts {
                    let kind = match spec.get("type").and_then(Value::as_str).unwrap_or("string") {
                        "string" => OptionType::String,
                        "int" => OptionType::Int,
                        "float" => OptionType::Float,
                        "boolean" => OptionType::Boolean,
                        "secret" => OptionType::Secret,
                        other => {
                            return Err(invalid(format!(
                                "config option {key:?} has unknown type {other:?}"
                            )))
                        }
                    };
                    let default = match spec.get("default") {
                        None | Some(Value::Null) => None,
                        Some(v) => Some(coerce_default(kind, v).ok_or_else(|| {
                            invalid(format!(
                                "config option {key:?}: default {v} is not a {}",
                                kind.name()
                            ))
                        })?),
                    };
                    let description = spec
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    config.insert(
                        key.clone(),
                        ConfigOption {
                            kind,
                            default,
                            description,
                        },
                    );
                }
            }
        }

        let mut actions = BTreeMap::new();
        if let Some(acts) = read_yaml(&dir.join("actions.yaml"))? {
            let acts = yaml_to_json(&acts);
            if let Some(map) = acts.as_object() {
                for (name, spec) in map {
                    let description = spec
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let mut schema = serde_json::Map::new();
                    schema.insert("type".into(), "object".into());
                    schema.insert(
                        "properties".into(),
                        spec.get("params")
                            .cloned()
                            .unwrap_or_else(|| Value::Object(Default::default())),
                    );
                    for k in ["required", "additionalProperties"] {
                        if let Some(v) = spec.get(k) {
                            schema.insert(k.into(), v.clone());
                        }
                    }
                    actions.insert(
                        name.clone(),
                        ActionSpec {
                            description,
                            schema: Value::Object(schema),
                        },
                    );
                }
            }
        }
        Ok(Charm {
            dir: dir.to_path_buf(),
            name,
            subordinate,
            endpoints,
            extra_bindings,
            config,
            actions,
        })
    }

    /// Endpoint names `network-get` knows: every endpoint, extra bindings, `juju-info`.
    pub fn bindings(&self) -> std::collections::BTreeSet<String> {
        self.endpoints
            .keys()
            .cloned()
            .chain(self.extra_bindings.iter().cloned())
            .collect()
    }

    pub fn peer_endpoints(&self) -> Vec<&Endpoint> {
        self.endpoints
            .values()
            .filter(|e| e.role == Role::Peer)
            .collect()
    }
}

/// YAML may write `default: 80` for a float or `default: "5"`; keep Juju's typed value.
fn coerce_default(kind: OptionType, v: &Value) -> Option<Value> {
    match (kind, v) {
        (OptionType::String | OptionType::Secret, Value::String(_)) => Some(v.clone()),
        (OptionType::String, Value::Number(n)) => Some(Value::String(n.to_string())),
        (OptionType::String, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (OptionType::Int, Value::Number(n)) if n.is_i64() => Some(v.clone()),
        (OptionType::Float, Value::Number(n)) => n.as_f64().map(Value::from),
        (OptionType::Boolean, Value::Bool(_)) => Some(v.clone()),
        _ => None,
    }
}

/// Parses a `juju config app key=value` string into the option's type. Juju's error text:
/// `option "port" expected int, got "abc"`.
pub fn parse_option_value(key: &str, opt: &ConfigOption, raw: &str) -> Result<Value, String> {
    let bad = || format!("option {key:?} expected {}, got {raw:?}", opt.kind.name());
    match opt.kind {
        OptionType::String | OptionType::Secret => Ok(Value::String(raw.to_string())),
        OptionType::Int => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad()),
        OptionType::Float => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(bad),
        OptionType::Boolean => match raw.trim() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
    }
}

/// Copies (directory) or unzips (`.charm` file) `source` into a fresh directory `dest`.
pub fn unpack(source: &Path, dest: &Path) -> Result<(), CharmError> {
    let unpack_err = |detail: String| CharmError::Unpack {
        path: source.display().to_string(),
        detail,
    };
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| unpack_err(e.to_string()))?;
    }
    std::fs::create_dir_all(dest).map_err(|e| unpack_err(e.to_string()))?;
    let output = if source.is_dir() {
        let mut src = source.as_os_str().to_owned();
        src.push("/.");
        std::process::Command::new("cp")
            .arg("-a")
            .arg(src)
            .arg(dest)
            .output()
    } else if source.is_file() {
        std::process::Command::new("unzip")
            .arg("-q")
            .arg("-o")
            .arg(source)
            .arg("-d")
            .arg(dest)
            .output()
    } else {
        return Err(unpack_err("no such file or directory".into()));
    }
    .map_err(|e| unpack_err(format!("cannot run cp/unzip: {e}")))?;
    if !output.status.success() {
        return Err(unpack_err(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(kind: OptionType) -> ConfigOption {
        ConfigOption {
            kind,
            default: None,
            description: String::new(),
        }
    }

    #[test]
    fn option_values_parse_by_type_like_juju_config() {
        let cases: &[(OptionType, &str, Result<Value, ()>)] = &[
            (OptionType::Int, "80", Ok(Value::from(80))),
            (OptionType::Int, "8.5", Err(())),
            (OptionType::Float, "8.5", Ok(Value::from(8.5))),
            (OptionType::Boolean, "True", Ok(Value::Bool(true))),
            (OptionType::Boolean, "yes", Err(())),
            (OptionType::String, " x ", Ok(Value::from(" x "))),
        ];
        for (kind, raw, want) in cases {
            let got = parse_option_value("k", &opt(*kind), raw).map_err(|_| ());
            assert_eq!(&got, want, "{kind:?} {raw:?}");
        }
        assert_eq!(
            parse_option_value("port", &opt(OptionType::Int), "abc").unwrap_err(),
            r#"option "port" expected int, got "abc""#
        );
    }

    #[test]
    fn load_reads_endpoints_config_and_actions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("metadata.yaml"),
            "name: web\nprovides:\n  website: {interface: http}\nrequires:\n  \
             logs:\n    interface: syslog\n    scope: container\npeers:\n  cluster: {interface: web-peer}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.yaml"),
            "options:\n  port: {type: int, default: 80}\n  ratio: {type: float, default: 1}\n  name: {type: string}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("actions.yaml"),
            "go:\n  params:\n    n: {type: integer, default: 3}\n  required: [n]\n",
        )
        .unwrap();
        let c = Charm::load(dir.path()).unwrap();
        assert_eq!(c.name, "web");
        assert_eq!(c.endpoints["website"].role, Role::Provider);
        assert!(c.endpoints["logs"].container_scope);
        assert_eq!(c.endpoints["cluster"].role, Role::Peer);
        assert_eq!(c.endpoints["juju-info"].interface, "juju-info");
        assert_eq!(c.config["port"].default, Some(Value::from(80)));
        assert_eq!(c.config["ratio"].default, Some(Value::from(1.0)));
        assert_eq!(c.config["name"].default, None);
        assert_eq!(c.actions["go"].schema["required"], serde_json::json!(["n"]));
    }
}
