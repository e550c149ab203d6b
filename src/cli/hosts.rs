//! `horde hosts`: the hosts a pattern selects, printed as `ansible PATTERN --list-hosts`.

use super::args::HostsArgs;
use super::exit::Exit;
use anyhow::Result;
use horde::inventory;
use std::fmt::Write;

pub fn run(args: HostsArgs) -> Result<Exit> {
    let inv = super::inventory::load(&args.source)?;
    let selection = inventory::select(&inv, &args.pattern, args.source.limit.as_deref())?;
    for w in &selection.warnings {
        super::warn(w);
    }
    if selection.hosts.is_empty() {
        super::warn("No hosts matched, nothing to do");
    }
    let mut out = format!("  hosts ({}):\n", selection.hosts.len());
    for h in &selection.hosts {
        let _ = writeln!(out, "    {h}");
    }
    print!("{out}");
    Ok(Exit::Ok)
}
