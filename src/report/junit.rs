//! `junit.xml`: a `<testsuite>` per play (per matrix case), a `<testcase>` per host and
//! task (`classname` the host, `name` "NNN task name"); failed results get `<failure>`,
//! unreachable hosts `<error>`, skipped ones `<skipped/>`. Valid against the common JUnit
//! schema (junit-10.xsd of Jenkins' xunit plugin, which CI servers read; it has no
//! `skipped` on `<testsuites>`). Main entry: [`render`].

use super::record::{PlayRecord, RunRecord, TaskResult};
use super::results::iso8601;
use crate::engine::Status;
use std::fmt::Write;

/// Text as XML character data or attribute value: escaped, characters XML cannot hold
/// replaced by U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Seconds with three decimals, as JUnit's `time`.
fn secs(s: f64) -> String {
    format!("{:.3}", s.max(0.0))
}

struct Tally {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time: f64,
}

fn tally<'a>(results: impl Iterator<Item = &'a TaskResult>) -> Tally {
    let mut t = Tally {
        tests: 0,
        failures: 0,
        errors: 0,
        skipped: 0,
        time: 0.0,
    };
    for r in results {
        t.tests += 1;
        t.time += r.duration.max(0.0);
        match r.status {
            Status::Unreachable => t.errors += 1,
            Status::Skipped => t.skipped += 1,
            Status::Failed if r.is_failure() => t.failures += 1,
            _ => {}
        }
    }
    t
}

fn play_results(play: &PlayRecord) -> impl Iterator<Item = &TaskResult> {
    play.tasks.iter().flat_map(|t| t.results.iter())
}

/// The failure's text: the message, then stdout and stderr.
fn output(r: &TaskResult) -> String {
    let mut s = String::new();
    for (label, part) in [
        ("msg", &r.message),
        ("stdout", &r.stdout),
        ("stderr", &r.stderr),
    ] {
        if let Some(p) = part {
            let _ = writeln!(s, "{label}: {p}");
        }
    }
    if let Some(rc) = r.rc {
        let _ = writeln!(s, "rc: {rc}");
    }
    s
}

/// The whole run as JUnit XML.
pub fn render(record: &RunRecord) -> String {
    let all = tally(record.plays.iter().flat_map(play_results));
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"horde\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        all.tests,
        all.failures,
        all.errors,
        secs(all.time)
    );
    for (i, play) in record.plays.iter().enumerate() {
        let t = tally(play_results(play));
        let name = match &play.case {
            Some(c) => format!("{} [{c}]", play.name),
            None => play.name.clone(),
        };
        let start = play_results(play)
            .map(|r| r.start)
            .filter(|s| *s > 0.0)
            .reduce(f64::min);
        let timestamp = start
            .map(|s| format!(" timestamp=\"{}\"", iso8601(s).trim_end_matches('Z')))
            .unwrap_or_default();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" id=\"{i}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"{timestamp}>",
            escape(&name),
            t.tests,
            t.failures,
            t.errors,
            t.skipped,
            secs(t.time)
        );
        if let Some(seed) = record.seed {
            let _ = writeln!(
                x,
                "    <properties>\n      <property name=\"seed\" value=\"{seed}\"/>\n    </properties>"
            );
        }
        for task in &play.tasks {
            let name = escape(&format!("{:03} {}", task.id, task.name));
            for r in task.by_host() {
                let _ = write!(
                    x,
                    "    <testcase classname=\"{}\" name=\"{name}\" time=\"{}\"",
                    escape(&r.host),
                    secs(r.duration)
                );
                let message = escape(r.message.as_deref().unwrap_or(""));
                match r.status {
                    Status::Skipped => x.push_str(">\n      <skipped/>\n    </testcase>\n"),
                    Status::Unreachable => {
                        let _ = write!(
                            x,
                            ">\n      <error message=\"{message}\" type=\"unreachable\">{}</error>\n    </testcase>\n",
                            escape(&output(r))
                        );
                    }
                    Status::Failed if r.is_failure() => {
                        let _ = write!(
                            x,
                            ">\n      <failure message=\"{message}\" type=\"failed\">{}</failure>\n    </testcase>\n",
                            escape(&output(r))
                        );
                    }
                    Status::Failed => {
                        let how = if r.ignored { "ignored" } else { "rescued" };
                        let _ = write!(
                            x,
                            ">\n      <system-out>failed, {how}: {}</system-out>\n    </testcase>\n",
                            escape(&output(r))
                        );
                    }
                    Status::Ok | Status::Changed => x.push_str("/>\n"),
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1b}[0m\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\u{FFFD}[0m\n"
        );
    }
}
