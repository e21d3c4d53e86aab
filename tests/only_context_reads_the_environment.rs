//! DESIGN "Rules": in the charm crate only `juju::Context::from_env` reads `std::env`; every
//! other module is handed a `Context`, so tests can build any environment without touching the
//! process's own. Checked by reading the sources.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_but_context_reads_std_env() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 5, "found the sources: {files:?}");
    let mut offenders = Vec::new();
    for file in &files {
        if file.ends_with("juju/context.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let reads_env = [
                "std::env",
                "env::var",
                "env::args",
                "use std::{env",
                "env::set_var",
            ]
            .iter()
            .any(|needle| code.contains(needle));
            if reads_env {
                offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "std::env outside juju::Context: {offenders:#?}"
    );
    let context = std::fs::read_to_string(src.join("juju/context.rs")).unwrap();
    assert!(
        context.contains("std::env::vars_os()"),
        "the one reader is still there"
    );
}
