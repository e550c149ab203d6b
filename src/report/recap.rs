//! The `PLAY RECAP` text, in the console's format (Ansible's columns), for `horde report`.

use super::record::Recap;

/// Ansible's banner: the text, then stars to column 80.
fn banner(text: &str) -> String {
    let stars = 79usize.saturating_sub(text.chars().count()).max(3);
    format!("{text} {}", "*".repeat(stars))
}

/// The recap as the console prints it at the end of a run (hosts by name; teardown's own
/// table after it when there was a teardown), each line ending in a newline.
pub fn text(recap: &Recap) -> String {
    let mut out = format!("\n{}\n", banner("PLAY RECAP"));
    let mut hosts: Vec<_> = recap.stats.iter().collect();
    hosts.sort_by(|a, b| a.0.cmp(b.0));
    for (h, s) in hosts {
        out.push_str(&format!(
            "{h:<26} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={:<4}\n",
            s.ok, s.changed, s.unreachable, s.failed, s.skipped, s.rescued, s.ignored,
        ));
    }
    out.push('\n');
    if !recap.teardown.is_empty() {
        out.push_str(&banner("TEARDOWN RECAP"));
        out.push('\n');
        let mut hosts: Vec<_> = recap.teardown.iter().collect();
        hosts.sort_by(|a, b| a.0.cmp(b.0));
        for (h, s) in hosts {
            out.push_str(&format!(
                "{h:<26} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4}\n",
                s.ok, s.changed, s.unreachable, s.failed, s.skipped,
            ));
        }
        out.push('\n');
    }
    out
}
