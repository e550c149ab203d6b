//! horde: an SSH fleet executor that reads Ansible inventories and playbooks unchanged.
//!
//! The library never prints and never exits; the `horde` binary (`src/cli/`) does.

pub mod inventory;
pub mod vars;
pub mod yaml;
