//! The two ways a hook tool receives settings (spec §3 "key=value arguments" and "--file"):
//! `juju/utils keyvalues.Parse(args, allowEmpty=true)` and the yaml.v2 decoding of a settings
//! file into `map[string]string`, where every scalar keeps its source text. An empty value means
//! "delete". No I/O here: the caller reads the file or stdin.

use super::text::go_quote;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// keyvalues.Parse: split at the first `=`, trim both sides, no empty key, no duplicate key.
/// Empty arguments are skipped (§3). Errors are usage errors (exit 2).
pub fn parse_key_values(args: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for arg in args {
        if arg.is_empty() {
            continue;
        }
        let Some((k, v)) = arg.split_once('=') else {
            return Err(format!("expected \"key=value\", got {}", go_quote(arg)));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            // keyvalues.Parse prints the trimmed parts here with %s, not %q.
            return Err(format!("expected \"key=value\", got \"{k}={v}\""));
        }
        if out.contains_key(k) {
            return Err(format!("key {} specified more than once", go_quote(k)));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// One value of a settings file: a scalar's source text, or `""` for null.
struct ScalarText(String);

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = ScalarText;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<ScalarText, E> {
        Ok(ScalarText(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<ScalarText, E> {
        Ok(ScalarText(String::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<ScalarText, E> {
        Ok(ScalarText(String::new()))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ScalarText, D::Error> {
        d.deserialize_str(ScalarVisitor)
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<ScalarText, A::Error> {
        Err(de::Error::custom("cannot unmarshal !!map into string"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<ScalarText, A::Error> {
        Err(de::Error::custom("cannot unmarshal !!seq into string"))
    }
}

impl<'de> serde::Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScalarText, D::Error> {
        // `deserialize_option` sees `null`/`~`/empty as none; other scalars arrive as their text.
        d.deserialize_option(ScalarVisitor)
    }
}

/// A whole settings document: a mapping (a repeated key keeps its last value, as yaml.v2 does)
/// or nothing.
struct SettingsDoc(BTreeMap<String, String>);

struct DocVisitor;

fn not_a_map<E: de::Error>(kind: &str) -> E {
    de::Error::custom(format!("cannot unmarshal {kind} into map[string]string"))
}

impl<'de> Visitor<'de> for DocVisitor {
    type Value = SettingsDoc;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SettingsDoc, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<KeyText, ScalarText>()? {
            out.insert(k.0, v.0);
        }
        Ok(SettingsDoc(out))
    }
    fn visit_unit<E: de::Error>(self) -> Result<SettingsDoc, E> {
        Ok(SettingsDoc(BTreeMap::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<SettingsDoc, E> {
        Ok(SettingsDoc(BTreeMap::new()))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<SettingsDoc, A::Error> {
        Err(not_a_map("!!seq"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<SettingsDoc, E> {
        Err(not_a_map(&format!("!!str `{}`", short(v))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<SettingsDoc, E> {
        Err(not_a_map(&format!("!!bool `{v}`")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SettingsDoc, E> {
        Err(not_a_map(&format!("!!int `{v}`")))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SettingsDoc, E> {
        Err(not_a_map(&format!("!!int `{v}`")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<SettingsDoc, E> {
        Err(not_a_map(&format!("!!float `{v}`")))
    }
}

impl<'de> serde::Deserialize<'de> for SettingsDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SettingsDoc, D::Error> {
        d.deserialize_any(DocVisitor)
    }
}

/// Decodes a `--file` body as yaml.v2 does into `map[string]string` (§3 "--file"): scalars keep
/// their source text, `null`/`~` become `""` (delete), a nested map or list is
/// `yaml: unmarshal errors:` (exit 1), empty input is an empty map, only the first document
/// counts and a repeated key keeps its last value.
pub fn parse_settings_file(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let text = String::from_utf8_lossy(body);
    // yaml.v2 parses the whole document before decoding it, so a syntax error anywhere wins
    // over a type error; `IgnoredAny` checks the syntax without building anything.
    let Some(first) = serde_yaml::Deserializer::from_str(&text).next() else {
        return Ok(BTreeMap::new());
    };
    if let Err(e) = <de::IgnoredAny as serde::Deserialize>::deserialize(first) {
        return Err(yaml_error(&e));
    }
    let Some(first) = serde_yaml::Deserializer::from_str(&text).next() else {
        return Ok(BTreeMap::new());
    };
    match <SettingsDoc as serde::Deserialize>::deserialize(first) {
        Ok(doc) => Ok(doc.0),
        Err(e) => Err(yaml_error(&e)),
    }
}

/// yaml.v2's error texts: type errors as `yaml: unmarshal errors:` with the node's line, syntax
/// errors as `yaml: [line N: ]<problem>` (no line number for the first line).
fn yaml_error(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    let reason = msg.split(" at line ").next().unwrap_or(&msg);
    // libyaml's context ("while scanning ...") is not part of yaml.v2's message.
    let reason = reason.split(", while ").next().unwrap_or(reason);
    let line = e.location().map(|l| l.line()).unwrap_or(1);
    // serde_yaml prefixes the key path ("a: ") and words type errors its own way.
    let unmarshal = if let Some(i) = reason.find("cannot unmarshal") {
        Some(reason[i..].to_string())
    } else if reason.contains("invalid type: map") {
        Some("cannot unmarshal !!map into string".to_string())
    } else if reason.contains("invalid type: sequence") {
        Some("cannot unmarshal !!seq into string".to_string())
    } else {
        None
    };
    if let Some(what) = unmarshal {
        return format!("yaml: unmarshal errors:\n  line {line}: {what}");
    }
    // yaml.v2 prints the 0-based problem line for parser errors and the 1-based one for scanner
    // errors, and nothing when the 0-based line is 0.
    let parser_error = reason.starts_with("did not find expected ")
        && !reason.contains("comment or line break")
        && !reason.contains("whitespace");
    let shown = if parser_error {
        line.saturating_sub(1)
    } else {
        line
    };
    if line > 1 && shown > 0 {
        format!("yaml: line {shown}: {reason}")
    } else {
        format!("yaml: {reason}")
    }
}

/// A map key's source text.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct KeyText(String);

impl<'de> serde::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyText, D::Error> {
        ScalarText::deserialize(d).map(|s| KeyText(s.0))
    }
}

fn short(s: &str) -> String {
    // yaml.v2 shortens long values in this message with "...".
    if s.chars().count() > 10 {
        let head: String = s.chars().take(7).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

/// `--file` merged with the key=value arguments, the arguments winning (§3).
pub fn merge(
    file: BTreeMap<String, String>,
    args: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = file;
    out.extend(args);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn map(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn key_values_follow_keyvalues_parse() {
        assert_eq!(
            parse_key_values(&s(&["a=1", " b = two words ", "c=", "d=x=y", ""])).unwrap(),
            map(&[("a", "1"), ("b", "two words"), ("c", ""), ("d", "x=y")])
        );
        assert_eq!(
            parse_key_values(&s(&["foo"])).unwrap_err(),
            "expected \"key=value\", got \"foo\""
        );
        assert_eq!(
            parse_key_values(&s(&["=v"])).unwrap_err(),
            "expected \"key=value\", got \"=v\""
        );
        // The empty-key error shows the trimmed parts unquoted (%s), not the argument.
        assert_eq!(
            parse_key_values(&s(&[" = v \t"])).unwrap_err(),
            "expected \"key=value\", got \"=v\""
        );
        assert_eq!(
            parse_key_values(&s(&["k=1", "k =2"])).unwrap_err(),
            "key \"k\" specified more than once"
        );
    }

    #[test]
    fn settings_file_keeps_scalar_source_text() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("  \n", &[]),
            ("~", &[]),
            (
                "port: 80\nflag: true\nf: 1.0\nname: web\n",
                &[
                    ("f", "1.0"),
                    ("flag", "true"),
                    ("name", "web"),
                    ("port", "80"),
                ],
            ),
            (
                "a: null\nb: ~\nc:\nd: ''\n",
                &[("a", ""), ("b", ""), ("c", ""), ("d", "")],
            ),
            ("{\"a\": \"x\", \"b\": \"\"}", &[("a", "x"), ("b", "")]),
            (
                "{\"services\": \"[{\\\"a\\\": 1}]\"}",
                &[("services", "[{\"a\": 1}]")],
            ),
            ("80: x\n", &[("80", "x")]),
            ("k: |\n  line1\n  line2\n", &[("k", "line1\nline2\n")]),
            ("k: 0x10\n", &[("k", "0x10")]),
            // yaml.v2: a repeated key keeps the last value; only the first document counts.
            ("a: 1\na: 2\n", &[("a", "2")]),
            ("---\na: 1\n---\nb: 2\n", &[("a", "1")]),
            ("# only a comment\n", &[]),
        ];
        for (body, want) in cases {
            assert_eq!(
                parse_settings_file(body.as_bytes()).unwrap(),
                map(want),
                "{body:?}"
            );
        }
    }

    #[test]
    fn settings_file_refuses_nested_values() {
        assert_eq!(
            parse_settings_file(b"a: {b: c}\n").unwrap_err(),
            "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into string"
        );
        assert_eq!(
            parse_settings_file(b"x: y\na:\n- 1\n").unwrap_err(),
            "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!seq into string"
        );
        assert!(parse_settings_file(b"hello")
            .unwrap_err()
            .starts_with("yaml: unmarshal errors:"));
        assert!(parse_settings_file(b"{a: [")
            .unwrap_err()
            .starts_with("yaml: "));
    }

    #[test]
    fn arguments_override_the_file() {
        let merged = merge(
            map(&[("a", "1"), ("b", "2")]),
            map(&[("b", "3"), ("c", "")]),
        );
        assert_eq!(merged, map(&[("a", "1"), ("b", "3"), ("c", "")]));
    }

    proptest::proptest! {
        #[test]
        fn key_values_never_panic(args in proptest::collection::vec("\\PC{0,12}", 0..6)) {
            let _ = parse_key_values(&args);
        }

        #[test]
        fn settings_file_never_panics(body in "\\PC{0,64}") {
            let _ = parse_settings_file(body.as_bytes());
        }

        #[test]
        fn json_objects_round_trip_through_the_file(map in proptest::collection::btree_map("[a-z][a-z0-9-]{0,8}", "\\PC{1,40}", 0..6)) {
            // Raw U+2028/U+2029/U+0085 are line breaks to YAML (yaml.v2 folds them too); ops's
            // json.dumps escapes them, so escape them here as well.
            let body = serde_json::to_string(&map)
                .unwrap()
                .replace('\u{2028}', "\\u2028")
                .replace('\u{2029}', "\\u2029")
                .replace('\u{85}', "\\u0085");
            let got = parse_settings_file(body.as_bytes()).unwrap();
            proptest::prop_assert_eq!(got, map);
        }

        #[test]
        fn key_value_args_round_trip(map in proptest::collection::btree_map("[a-z][a-z0-9.-]{0,8}", "[!-~]([ -~]{0,20}[!-~])?", 0..6)) {
            let args: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
            proptest::prop_assert_eq!(parse_key_values(&args).unwrap(), map);
        }
    }
}
