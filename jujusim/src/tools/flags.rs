//! The command-line parser every hook tool shares: juju/gnuflag in GNU mode, as juju/cmd runs it
//! (spec `juju-hook-tools.md` §3 "Flag parsing"). It owns only the splitting of argv into flag
//! values and positional arguments, and the exact parse-error texts; what a value means is the
//! tool's business (the `set` callback), so a bad value fails at its place in argv, as in Go.
//! It must not touch the hook context.

use super::text::go_quote;

/// Whether a flag takes a value (`-r 3`) or is a switch (`--app`, `--app=false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Value,
}

/// What a flag stands for; several names may share one meaning (`-r` and `--relation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Format,
    Output,
    Relation,
    App,
    Application,
    All,
    IncludeData,
    File,
    Endpoints,
    Debug,
    LogLevel,
    Now,
    Strict,
    BindAddress,
    IngressAddress,
    EgressSubnets,
    PrimaryAddress,
    /// A flag accepted and ignored (kept only so that it parses, e.g. secret tools' options).
    Ignored,
}

/// One flag name as the Go command defines it.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    pub kind: Kind,
    pub key: Key,
    /// The default shown by `--help` (`PrintDefaults`).
    pub default: &'static str,
    pub help: &'static str,
}

impl Flag {
    pub const fn value(
        name: &'static str,
        key: Key,
        default: &'static str,
        help: &'static str,
    ) -> Flag {
        Flag {
            name,
            kind: Kind::Value,
            key,
            default,
            help,
        }
    }
    pub const fn switch(name: &'static str, key: Key, help: &'static str) -> Flag {
        Flag {
            name,
            kind: Kind::Bool,
            key,
            default: "false",
            help,
        }
    }
}

/// A parsed flag value handed to the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    Bool(bool),
    Text(String),
}

/// Why parsing stopped before the command ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseStop {
    /// `-h`/`--help` (undefined `h`/`help`): print help to stdout, exit 0.
    Help,
    /// Any parse failure: `ERROR <msg>`, exit 2.
    Usage(String),
}

/// `-r` for one byte, `--relation` for more (gnuflag `flagWithMinus` counts bytes, so a
/// non-ASCII letter gets two dashes).
pub fn with_minus(name: &str) -> String {
    if name.len() > 1 {
        format!("--{name}")
    } else {
        format!("-{name}")
    }
}

/// Go `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses `args` GNU style (flags interspersed with positionals). `set` receives each flag in
/// argv order; an `Err(reason)` becomes `invalid value "<v>" for option <flag>: <reason>`.
/// Returns the positional arguments.
///
/// This is gnuflag's state machine step for step, quirks included: the letters of a cluster
/// (`-ab`) are taken one per step, but only while arguments remain, so letters left after a
/// switch in the *last* argument are silently dropped (`-app` as the last argument sets `-a`).
pub fn parse<F>(args: &[String], flags: &[Flag], mut set: F) -> Result<Vec<String>, ParseStop>
where
    F: FnMut(Key, FlagValue) -> Result<(), String>,
{
    let mut positional = Vec::new();
    let mut next = 0; // index of the next unprocessed argument (gnuflag `procArgs`)
    let mut pending = String::new(); // rest of a cluster or `=value` (gnuflag `procFlag`)
    while next < args.len() {
        let (name, long) = if let Some(c) = pending.chars().next() {
            let name = c.to_string();
            pending.drain(..c.len_utf8());
            (name, false)
        } else {
            let arg = &args[next];
            if arg == "-" || arg.is_empty() || !arg.starts_with('-') {
                positional.push(arg.clone());
                next += 1;
                continue;
            }
            if arg == "--" {
                positional.extend(args[next + 1..].iter().cloned());
                break;
            }
            next += 1;
            if let Some(long) = arg.strip_prefix("--") {
                match long.find('=') {
                    None => (long.to_string(), true),
                    Some(0) => {
                        return Err(ParseStop::Usage(format!(
                            "empty option in argument {}",
                            go_quote(arg)
                        )))
                    }
                    Some(i) => {
                        pending = long[i..].to_string();
                        (long[..i].to_string(), true)
                    }
                }
            } else {
                let cluster = &arg[1..];
                let c = cluster.chars().next().unwrap_or('-');
                pending = cluster[c.len_utf8()..].to_string();
                (c.to_string(), false)
            }
        };
        let flag = lookup(flags, &name)?;
        if flag.kind == Kind::Bool && !pending.starts_with('=') {
            apply(&mut set, flag, &name, FlagValue::Bool(true), "true")?;
            continue;
        }
        let value = if !pending.is_empty() {
            let v = std::mem::take(&mut pending);
            if long {
                v[1..].to_string()
            } else {
                v
            }
        } else if next < args.len() {
            next += 1;
            args[next - 1].clone()
        } else {
            return Err(needs_argument(&name));
        };
        set_text(&mut set, flag, &name, value)?;
    }
    Ok(positional)
}

fn lookup<'f>(flags: &'f [Flag], name: &str) -> Result<&'f Flag, ParseStop> {
    match flags.iter().find(|f| f.name == name) {
        Some(f) => Ok(f),
        None if name == "h" || name == "help" => Err(ParseStop::Help),
        None => Err(ParseStop::Usage(format!(
            "option provided but not defined: {}",
            with_minus(name)
        ))),
    }
}

fn needs_argument(name: &str) -> ParseStop {
    ParseStop::Usage(format!("option needs an argument: {}", with_minus(name)))
}

fn set_text<F>(set: &mut F, flag: &Flag, typed: &str, value: String) -> Result<(), ParseStop>
where
    F: FnMut(Key, FlagValue) -> Result<(), String>,
{
    match flag.kind {
        Kind::Bool => match parse_go_bool(&value) {
            Some(b) => apply(set, flag, typed, FlagValue::Bool(b), &value),
            None => Err(invalid_value(
                &value,
                typed,
                &format!(
                    "strconv.ParseBool: parsing {}: invalid syntax",
                    go_quote(&value)
                ),
            )),
        },
        Kind::Value => {
            let shown = value.clone();
            apply(set, flag, typed, FlagValue::Text(value), &shown)
        }
    }
}

fn apply<F>(
    set: &mut F,
    flag: &Flag,
    typed: &str,
    value: FlagValue,
    shown: &str,
) -> Result<(), ParseStop>
where
    F: FnMut(Key, FlagValue) -> Result<(), String>,
{
    set(flag.key, value).map_err(|reason| invalid_value(shown, typed, &reason))
}

fn invalid_value(value: &str, typed: &str, reason: &str) -> ParseStop {
    ParseStop::Usage(format!(
        "invalid value {} for option {}: {reason}",
        go_quote(value),
        with_minus(typed)
    ))
}

/// gnuflag `PrintDefaults`: flags sharing a meaning are grouped, shortest name first.
/// `relation_default` is what the `-r` value prints (the hook's `endpoint:id`, or nothing).
pub fn print_defaults(flags: &[Flag], relation_default: &str) -> String {
    let mut groups: Vec<Vec<&Flag>> = Vec::new();
    for flag in flags {
        match groups
            .iter_mut()
            .find(|g| g[0].key == flag.key && flag.key != Key::Ignored)
        {
            Some(g) => g.push(flag),
            None => groups.push(vec![flag]),
        }
    }
    for g in &mut groups {
        g.sort_by(|a, b| a.name.len().cmp(&b.name.len()).then(a.name.cmp(b.name)));
    }
    groups.sort_by(|a, b| a[0].name.cmp(b[0].name));
    let mut out = String::new();
    for g in groups {
        let names: Vec<String> = g.iter().map(|f| with_minus(f.name)).collect();
        let first = g[0];
        let help = g
            .iter()
            .map(|f| f.help)
            .find(|h| !h.is_empty())
            .unwrap_or("");
        // Only plain `StringVar`s print a quoted default; juju's own Value types (format,
        // relation id, file) print it bare.
        let custom_value = matches!(first.key, Key::Relation | Key::File)
            || (first.key == Key::Format && !first.default.is_empty());
        if first.kind == Kind::Value && !custom_value {
            out.push_str(&format!(
                "{} (= {})\n    {}\n",
                names.join(", "),
                go_quote(first.default),
                help
            ));
        } else {
            let default = if first.key == Key::Relation {
                relation_default
            } else {
                first.default
            };
            out.push_str(&format!(
                "{}  (= {})\n    {}\n",
                names.join(", "),
                default,
                help
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        Flag::value("r", Key::Relation, "", ""),
        Flag::value("relation", Key::Relation, "", ""),
        Flag::switch("app", Key::App, ""),
        Flag::switch("a", Key::All, ""),
        Flag::value("format", Key::Format, "smart", ""),
    ];

    type Seen = Vec<(Key, FlagValue)>;
    type Row<'a> = (&'a [&'a str], &'a [(Key, FlagValue)], &'a [&'a str]);

    fn run(args: &[&str]) -> Result<(Seen, Vec<String>), ParseStop> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut seen = Vec::new();
        let pos = parse(&args, FLAGS, |k, v| {
            if v == FlagValue::Text("bad".into()) {
                return Err("no good".into());
            }
            seen.push((k, v));
            Ok(())
        })?;
        Ok((seen, pos))
    }

    fn text(k: Key, v: &str) -> (Key, FlagValue) {
        (k, FlagValue::Text(v.to_string()))
    }

    #[test]
    fn every_value_form_of_section_3_parses() {
        let cases: &[Row] = &[
            (&["-r", "3"], &[text(Key::Relation, "3")], &[]),
            (&["-r3"], &[text(Key::Relation, "3")], &[]),
            (&["-r=3"], &[text(Key::Relation, "=3")], &[]),
            (&["--relation=3"], &[text(Key::Relation, "3")], &[]),
            (&["--relation", "3"], &[text(Key::Relation, "3")], &[]),
            (&["--relation="], &[text(Key::Relation, "")], &[]),
            (&["--app"], &[(Key::App, FlagValue::Bool(true))], &[]),
            (&["--app=false"], &[(Key::App, FlagValue::Bool(false))], &[]),
            (&["--app=T"], &[(Key::App, FlagValue::Bool(true))], &[]),
            (
                &["--app", "false"],
                &[(Key::App, FlagValue::Bool(true))],
                &["false"],
            ),
            (
                &["k", "--app", "u/0"],
                &[(Key::App, FlagValue::Bool(true))],
                &["k", "u/0"],
            ),
            (&["--", "--app", "-r"], &[], &["--app", "-r"]),
            (&["-", "", "x"], &[], &["-", "", "x"]),
            (
                &["-r", "1", "-r", "2"],
                &[text(Key::Relation, "1"), text(Key::Relation, "2")],
                &[],
            ),
            // gnuflag drops the rest of a cluster when it is the last argument.
            (&["-app"], &[(Key::All, FlagValue::Bool(true))], &[]),
            (&["-ar2"], &[(Key::All, FlagValue::Bool(true))], &[]),
            (&["-ah"], &[(Key::All, FlagValue::Bool(true))], &[]),
            (
                &["-ar2", "x"],
                &[(Key::All, FlagValue::Bool(true)), text(Key::Relation, "2")],
                &["x"],
            ),
            (&["-r", "--app"], &[text(Key::Relation, "--app")], &[]),
        ];
        for (args, flags, pos) in cases {
            let (seen, got) = run(args).unwrap_or_else(|e| panic!("{args:?}: {e:?}"));
            assert_eq!(&seen[..], *flags, "{args:?}");
            assert_eq!(
                got,
                pos.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn parse_errors_have_gnuflag_texts() {
        let cases: &[(&[&str], ParseStop)] = &[
            (&["--foo"], ParseStop::Usage("option provided but not defined: --foo".into())),
            (&["-x"], ParseStop::Usage("option provided but not defined: -x".into())),
            (&["-app", "x"], ParseStop::Usage("option provided but not defined: -p".into())),
            (&["-r"], ParseStop::Usage("option needs an argument: -r".into())),
            (&["--relation"], ParseStop::Usage("option needs an argument: --relation".into())),
            (&["-r", "bad"], ParseStop::Usage("invalid value \"bad\" for option -r: no good".into())),
            (
                &["--app=yes"],
                ParseStop::Usage(
                    "invalid value \"yes\" for option --app: strconv.ParseBool: parsing \"yes\": invalid syntax"
                        .into(),
                ),
            ),
            (&["--=x"], ParseStop::Usage("empty option in argument \"--=x\"".into())),
            (
                &["-a=true"],
                ParseStop::Usage(
                    "invalid value \"=true\" for option -a: strconv.ParseBool: parsing \"=true\": invalid syntax".into(),
                ),
            ),
            (&["-é"], ParseStop::Usage("option provided but not defined: --é".into())),
            (&["---x"], ParseStop::Usage("option provided but not defined: ---x".into())),
            (&["-h"], ParseStop::Help),
            (&["x", "--help"], ParseStop::Help),
        ];
        for (args, want) in cases {
            assert_eq!(run(args).unwrap_err(), *want, "{args:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(args in proptest::collection::vec(".{0,8}", 0..8)) {
            let _ = parse(&args, FLAGS, |_, _| Ok(()));
        }

        #[test]
        fn positionals_after_double_dash_round_trip(args in proptest::collection::vec(".{0,8}", 0..8)) {
            let mut argv = vec!["--app".to_string(), "--".to_string()];
            argv.extend(args.iter().cloned());
            let pos = parse(&argv, FLAGS, |_, _| Ok(())).unwrap();
            proptest::prop_assert_eq!(pos, args);
        }

        #[test]
        fn plain_words_stay_positional_in_order(args in proptest::collection::vec("[a-z0-9/]{1,8}", 0..8)) {
            let mut argv = Vec::new();
            for a in &args { argv.push("--app".to_string()); argv.push(a.clone()); }
            let pos = parse(&argv, FLAGS, |_, _| Ok(())).unwrap();
            proptest::prop_assert_eq!(pos, args);
        }
    }
}
