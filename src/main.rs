//! The charm's `dispatch`: reads the invocation, picks the hook or action and runs it; outside
//! Juju it answers `--version` and `--help`. Nothing else lives here (spec §1.1, §1.2).

use std::process::ExitCode;

use haproxy_lb::juju::{Context, Dispatch, HookTools, Invocation};
use haproxy_lb::{charm, logging};

const USAGE: &str = "\
usage: haproxy-lb [--version | --help]

haproxy-lb is a Juju machine charm: Juju runs this binary as the charm's `dispatch`, with
JUJU_UNIT_NAME, JUJU_DISPATCH_PATH and the other hook variables set. Deploy it with
`juju deploy ./haproxy-lb.charm`. Outside Juju it only answers --version and --help.
";

fn main() -> ExitCode {
    match Context::from_env() {
        Ok(Invocation::Command { args }) => command_line(&args),
        Ok(Invocation::Juju(ctx)) => run_in_juju(&ctx),
        Err(err) => {
            // No context, so no juju-log; Juju files stderr in the unit log (spec §1.5).
            eprintln!("haproxy-lb: cannot read the hook environment: {err}");
            ExitCode::FAILURE
        }
    }
}

fn command_line(args: &[String]) -> ExitCode {
    match args {
        [flag] if flag == "--version" || flag == "-V" => {
            println!("haproxy-lb {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        [flag] if flag == "--help" || flag == "-h" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run_in_juju(ctx: &Context) -> ExitCode {
    let tools = HookTools::for_context(ctx);
    logging::init(logging::Sink::JujuLog(tools.clone()), tracing::Level::DEBUG);
    let (what, result) = match &ctx.dispatch {
        Dispatch::Hook { name } => {
            tracing::debug!("hook {name} started (Juju {})", ctx.juju_version);
            (format!("hook {name}"), charm::run_hook(ctx, &tools))
        }
        Dispatch::Action(action) => {
            tracing::debug!("action {} ({}) started", action.name, action.id);
            (
                format!("action {}", action.name),
                charm::run_action(ctx, &tools, action),
            )
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{what} failed: {err}");
            ExitCode::FAILURE
        }
    }
}
