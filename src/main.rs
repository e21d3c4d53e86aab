//! The charm's `dispatch`: picks the hook or action and runs it. Nothing else lives here.

fn main() {
    std::process::exit(2);
}
