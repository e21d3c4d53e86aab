//! `jujusim`: one multi-call binary. Under a hook tool's name it is that tool; as `jujusim` it is
//! the model CLI.

fn main() {
    std::process::exit(2);
}
