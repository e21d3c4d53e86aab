//! `jujusim`: one multi-call binary. Under a hook tool's name (the basename of argv[0], as
//! Juju's `jujuc`, spec §1.4) it is that tool's thin client; as `jujusim` it is the model CLI.

fn main() {
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let name = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let code = if jujusim::tools::TOOL_NAMES.contains(&name.as_str()) {
        jujusim::client::main(&name, rest)
    } else {
        jujusim::cli::main(rest)
    };
    std::process::exit(code);
}
