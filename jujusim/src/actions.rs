//! Action parameters as `juju run` handles them: `key=value` arguments (dotted keys nest,
//! values parsed as YAML), then the `actions.yaml` schema: defaults filled in
//! (`InsertDefaults`), types, `required`, `additionalProperties: false`, `enum` checked with
//! gojsonschema's wording behind Juju's `validation failed: ` prefix (spec §1.3 "Actions").

use serde_json::{Map, Value};

/// Parses `juju run` parameter arguments into a params object.
pub fn parse_params(args: &[String]) -> Result<Value, String> {
    let mut root = Map::new();
    for arg in args {
        let (key, raw) = arg
            .split_once('=')
            .ok_or_else(|| format!("argument {arg:?} must be of the form key...=value"))?;
        let value: Value = match serde_yaml::from_str::<serde_yaml::Value>(raw) {
            Ok(serde_yaml::Value::Null) if raw.trim().is_empty() => Value::String(String::new()),
            Ok(v) => serde_json::to_value(v).unwrap_or_else(|_| Value::String(raw.into())),
            Err(_) => Value::String(raw.into()),
        };
        let parts: Vec<&str> = key.split('.').collect();
        let mut node = &mut root;
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("just made an object");
        }
        node.insert(parts[parts.len() - 1].to_string(), value);
    }
    Ok(Value::Object(root))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    let got = type_name(v);
    got == want || (want == "number" && got == "integer")
}

/// Fills defaults and validates `params` against the action's schema.
pub fn validate(schema: &Value, params: Value) -> Result<Value, String> {
    let mut params = params;
    insert_defaults(schema, &mut params);
    let mut errors = Vec::new();
    check(schema, &params, "(root)", &mut errors);
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(format!("validation failed: {}", errors.join("; ")))
    }
}

fn insert_defaults(schema: &Value, v: &mut Value) {
    let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        v.as_object_mut(),
    ) else {
        return;
    };
    for (k, sub) in props {
        if let Some(d) = sub.get("default") {
            obj.entry(k.clone()).or_insert_with(|| d.clone());
        }
        if let Some(child) = obj.get_mut(k) {
            insert_defaults(sub, child);
        }
    }
}

fn field(path: &str) -> String {
    path.strip_prefix("(root).").unwrap_or(path).to_string()
}

fn check(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, v)) {
        errors.push(format!(
            "{}: Invalid type. Expected: {}, given: {}",
            field(path),
            types.join("/"),
            type_name(v)
        ));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            let list = options
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            errors.push(format!(
                "{}: {}: must be one of the following: {list}",
                field(path),
                field(path)
            ));
        }
    }
    let Some(obj) = v.as_object() else { return };
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(r) {
                errors.push(format!("{}: {r} is required", field(path)));
            }
        }
    }
    for (k, child) in obj {
        match props.and_then(|p| p.get(k)) {
            Some(sub) => check(sub, child, &format!("{path}.{k}"), errors),
            None => {
                if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                    errors.push(format!(
                        "{}: Additional property {k} is not allowed",
                        field(path)
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn params_parse_yaml_values_and_nest_dotted_keys() {
        let p = parse_params(&s(&["n=3", "flag=true", "name=web", "a.b=x", "empty="])).unwrap();
        assert_eq!(
            p,
            json!({"n": 3, "flag": true, "name": "web", "a": {"b": "x"}, "empty": ""})
        );
        assert!(parse_params(&s(&["oops"])).is_err());
    }

    #[test]
    fn schema_checks_like_juju() {
        let schema = json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "default": 3},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "ratio": {"type": "number"}
            },
            "required": ["mode"],
            "additionalProperties": false
        });
        let cases: &[(Value, Result<Value, &str>)] = &[
            (json!({"mode": "a"}), Ok(json!({"mode": "a", "n": 3}))),
            (
                json!({"mode": "a", "ratio": 2}),
                Ok(json!({"mode": "a", "n": 3, "ratio": 2})),
            ),
            (
                json!({}),
                Err("validation failed: (root): mode is required"),
            ),
            (
                json!({"mode": "a", "n": "x"}),
                Err("validation failed: n: Invalid type. Expected: integer, given: string"),
            ),
            (
                json!({"mode": "a", "zzz": 1}),
                Err("validation failed: (root): Additional property zzz is not allowed"),
            ),
            (
                json!({"mode": "c"}),
                Err("validation failed: mode: mode: must be one of the following: \"a\", \"b\""),
            ),
        ];
        for (input, want) in cases {
            let got = validate(&schema, input.clone());
            match want {
                Ok(v) => assert_eq!(got.as_ref(), Ok(v), "{input}"),
                Err(e) => assert_eq!(got.as_ref().map_err(String::as_str), Err(*e), "{input}"),
            }
        }
    }
}
