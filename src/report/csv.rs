//! `horde report --csv`: one row per host and task result (`play, case, host, task_id,
//! task, status, duration, rc`), fields quoted as RFC 4180 says, lines ending in `\n`. Main entry: [`render`].

use super::record::RunRecord;
use crate::engine::Status;

/// A field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn status(s: Status, ignored: bool, rescued: bool) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Skipped => "skipped",
        Status::Unreachable => "unreachable",
        Status::Failed if ignored => "failed_ignored",
        Status::Failed if rescued => "failed_rescued",
        Status::Failed => "failed",
    }
}

/// The results as CSV, a header line first.
pub fn render(record: &RunRecord) -> String {
    let mut out = String::from("play,case,host,task_id,task,status,duration,rc\n");
    for play in &record.plays {
        for task in &play.tasks {
            for r in task.by_host() {
                let row = [
                    field(&play.name),
                    field(play.case.as_deref().unwrap_or("")),
                    field(&r.host),
                    task.id.to_string(),
                    field(&task.name),
                    status(r.status, r.ignored, r.rescued).to_string(),
                    format!("{:.6}", r.duration),
                    r.rc.map(|rc| rc.to_string()).unwrap_or_default(),
                ];
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, \"b\""), "\"a, \"\"b\"\"\"");
    }
}
