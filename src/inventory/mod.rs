//! Ansible-compatible inventories: sources ([`load`]), the host/group graph ([`Inventory`]),
//! host patterns ([`select`]) and `ansible-inventory` style output ([`render`]).

mod error;
mod ini;
mod model;
mod pattern;
mod pylit;
mod range;
pub mod render;
mod script;
mod source;
mod varsdir;
mod yamlfile;

pub use error::{ErrorKind, InventoryError, Origin};
pub use model::{
    ALL, Group, GroupId, Host, HostId, Inventory, LOCALHOST_NAMES, UNGROUPED, VarLayer,
};
pub use pattern::{Selection, select, split_patterns};
pub use source::{Loaded, load};
pub use varsdir::read_vars_file;
