//! The command line: clap arguments ([`args`]), one file per subcommand, and Ansible's exit
//! codes ([`exit`]). The only place that prints or exits.

mod apply;
mod args;
mod exit;
mod hosts;
mod inventory;
mod output;
mod progress;
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
    let outcome = match cli.command {
        Command::Inventory(args) => inventory::run(args),
        Command::Hosts(args) => hosts::run(args),
        Command::Run(args) => run::run(*args),
        Command::Apply(args) => apply::run(*args),
    };
    match outcome {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("{}", exit::error_text(&e));
            exit::code_for(&e).into()
        }
    }
}

/// Prints a warning the way Ansible does.
pub(crate) fn warn(message: &str) {
    eprintln!("[WARNING]: {message}");
}
