//! horde: an SSH fleet executor that reads Ansible inventories and playbooks unchanged.
//!
//! The library never prints and never exits; the `horde` binary (`src/cli/`) does.

pub mod adhoc;
pub mod duration;
pub mod engine;
pub mod inventory;
pub mod lab;
pub mod modules;
pub mod playbook;
pub mod provision;
pub mod report;
pub mod shell;
pub mod ssh;
pub mod template;
pub mod transport;
pub mod vars;
pub mod yaml;
