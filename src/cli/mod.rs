//! The command line: clap arguments ([`args`]), one file per subcommand, and Ansible's exit
//! codes ([`exit`]). The only place that prints or exits.

mod apply;
mod args;
mod exit;
mod hosts;
mod inventory;
mod output;
mod progress;
mod replay;
mod report;
mod results;
mod run;

use args::{Cli, Command};
use clap::Parser;
use exit::Exit;
use std::process::ExitCode;

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::BadOptions
            } else {
                Exit::Ok
            };
            let _ = e.print();
            return code.into();
        }
    };
    let argv = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match dispatch(cli.command, argv) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("{}", exit::error_text(&e));
            exit::code_for(&e).into()
        }
    }
}

/// Runs a command; `argv` is its command line as given (kept in the results directory).
fn dispatch(command: Command, argv: Vec<String>) -> anyhow::Result<Exit> {
    match command {
        Command::Inventory(args) => inventory::run(args),
        Command::Hosts(args) => hosts::run(args),
        Command::Run(mut args) => {
            args.results.argv = argv;
            run::run(*args)
        }
        Command::Apply(mut args) => {
            args.results.argv = argv;
            apply::run(*args)
        }
        Command::Report(args) => report::run(args),
        Command::Replay(args) => replay::run(args),
    }
}

/// Prints a warning the way Ansible does.
pub(crate) fn warn(message: &str) {
    eprintln!("[WARNING]: {message}");
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM: `first` runs on the first one, `second` on the
/// next. The listeners exist when this returns, so no signal after it is lost (tokio's
/// `ctrl_c()` would only listen once first polled).
pub(crate) fn on_interrupts(
    first: impl FnOnce() + Send + 'static,
    second: impl FnOnce() + Send + 'static,
) {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    async fn next(s: &mut Option<Signal>) -> Option<()> {
        match s {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    }
    tokio::spawn(async move {
        let mut first = Some(first);
        loop {
            tokio::select! {
                r = next(&mut int) => if r.is_none() { return },
                r = next(&mut term) => if r.is_none() { return },
            }
            match first.take() {
                Some(f) => f(),
                None => {
                    second();
                    return;
                }
            }
        }
    });
}
