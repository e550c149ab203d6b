//! The command-line grammar. Flags follow Ansible's where one exists.

use clap::{Args, Parser, Subcommand};

/// An SSH fleet executor that reads Ansible inventories.
#[derive(Debug, Parser)]
#[command(name = "horde", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show an inventory as `ansible-inventory` does (--list, --host, --graph).
    Inventory(InventoryArgs),
    /// List the hosts a pattern selects, as `ansible PATTERN --list-hosts` does.
    Hosts(HostsArgs),
}

/// Where hosts come from.
#[derive(Debug, Args)]
pub struct InventorySource {
    /// Inventory: a YAML/INI file, a directory of them, an executable script, or a comma
    /// list like `a,b,`. Repeat to merge several in order. Defaults to $ANSIBLE_INVENTORY.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY", env = "ANSIBLE_INVENTORY",
          num_args = 1, action = clap::ArgAction::Append, hide_env_values = true)]
    pub inventory: Vec<String>,

    /// Further limit the selected hosts to those matching this pattern (`@file` reads a list).
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub source: InventorySource,

    /// Print all hosts and groups as JSON (the default action).
    #[arg(long, conflicts_with_all = ["host", "graph"])]
    pub list: bool,

    /// Print one host's variables.
    #[arg(long, value_name = "HOST", conflicts_with = "graph")]
    pub host: Option<String>,

    /// Print the group tree, from GROUP (default: all).
    #[arg(long)]
    pub graph: bool,

    /// The group to start the graph at.
    #[arg(value_name = "GROUP", requires = "graph")]
    pub group: Option<String>,

    /// With --graph: show variables too.
    #[arg(long = "vars")]
    pub show_vars: bool,

    /// Print YAML instead of JSON.
    #[arg(short = 'y', long)]
    pub yaml: bool,

    /// Show each group's and host's own variables instead of merged host variables.
    #[arg(long)]
    pub export: bool,

    /// Directory whose group_vars/ and host_vars/ apply as the playbook's would (default:
    /// the current directory, as ansible-inventory does).
    #[arg(long = "playbook-dir", value_name = "DIR")]
    pub playbook_dir: Option<std::path::PathBuf>,

    /// Write the output to this file instead of standard output.
    #[arg(long = "output", value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct HostsArgs {
    #[command(flatten)]
    pub source: InventorySource,

    /// Host pattern: `web`, `web:db`, `web:&prod`, `all:!db`, `web*`, `~re`, `g[0:2]`, `@file`.
    #[arg(value_name = "PATTERN")]
    pub pattern: String,
}
