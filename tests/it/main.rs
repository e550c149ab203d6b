//! Integration tests: one binary. `support` runs the built `horde`; each other module is a
//! subsystem seen from the command line.

mod apply;
mod apply_parity;
mod console;
mod examples;
mod fleet;
mod input_errors;
mod inventory_errors;
mod inventory_parity;
mod lab;
mod orchestration;
mod readme;
mod remote_shell;
mod results;
mod run_fleet;
mod support;
