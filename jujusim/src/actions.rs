//! Action parameters as `juju run` handles them: `key=value` arguments (dotted keys nest,
//! values parsed as YAML), then the `actions.yaml` schema: defaults filled in
//! (`InsertDefaults`), types, `required`, `additionalProperties: false`, `enum`, `pattern`,
//! `minimum`/`maximum` (and their exclusive forms), `minLength`/`maxLength` checked with
//! gojsonschema's wording (its `DefaultLocale`) behind Juju's `validation failed: ` prefix
//! (spec §1.3 "Actions").

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
    check_string(schema, v, path, errors);
    check_number(schema, v, path, errors);
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

/// `pattern` (unanchored, as JSON Schema says), `minLength`, `maxLength` (in characters).
fn check_string(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(text) = v.as_str() else { return };
    let length = text.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if length < min {
            errors.push(format!(
                "{}: String length must be greater than or equal to {min}",
                field(path)
            ));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if length > max {
            errors.push(format!(
                "{}: String length must be less than or equal to {max}",
                field(path)
            ));
        }
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        // A pattern the schema cannot compile is the charm's bug: Juju refuses the charm's
        // actions.yaml; here the check is skipped rather than failing every run.
        if let Ok(re) = regex::Regex::new(pattern) {
            if !re.is_match(text) {
                errors.push(format!(
                    "{}: Does not match pattern '{pattern}'",
                    field(path)
                ));
            }
        }
    }
}

/// `minimum`, `maximum`, and draft 4's boolean `exclusiveMinimum`/`exclusiveMaximum`.
fn check_number(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(n) = v.as_f64() else { return };
    let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool).unwrap_or(false);
    if let Some(min) = schema.get("minimum").filter(|m| m.is_number()) {
        let bound = min.as_f64().unwrap_or(f64::MIN);
        if exclusive("exclusiveMinimum") && n <= bound {
            errors.push(format!("{}: Must be greater than {min}", field(path)));
        } else if n < bound {
            errors.push(format!(
                "{}: Must be greater than or equal to {min}",
                field(path)
            ));
        }
    }
    if let Some(max) = schema.get("maximum").filter(|m| m.is_number()) {
        let bound = max.as_f64().unwrap_or(f64::MAX);
        if exclusive("exclusiveMaximum") && n >= bound {
            errors.push(format!("{}: Must be less than {max}", field(path)));
        } else if n > bound {
            errors.push(format!(
                "{}: Must be less than or equal to {max}",
                field(path)
            ));
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
    fn strings_and_numbers_are_checked_against_their_bounds() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]{1,5}$"},
                "label": {"type": "string", "minLength": 2, "maxLength": 3},
                "n": {"type": "integer", "minimum": 1, "maximum": 600},
                "x": {"type": "number", "minimum": 0, "exclusiveMinimum": true}
            }
        });
        let ok = json!({"name": "abc", "label": "ab", "n": 600, "x": 0.5});
        assert_eq!(validate(&schema, ok.clone()), Ok(ok));
        let cases = [
            (
                json!({"name": "a/b"}),
                "name: Does not match pattern '^[a-z]{1,5}$'",
            ),
            (
                json!({"label": "a"}),
                "label: String length must be greater than or equal to 2",
            ),
            (
                json!({"label": "abcd"}),
                "label: String length must be less than or equal to 3",
            ),
            (json!({"n": 0}), "n: Must be greater than or equal to 1"),
            (json!({"n": 601}), "n: Must be less than or equal to 600"),
            (json!({"x": 0}), "x: Must be greater than 0"),
        ];
        for (input, want) in cases {
            assert_eq!(
                validate(&schema, input.clone()),
                Err(format!("validation failed: {want}")),
                "{input}"
            );
        }
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
