//! `horde report DIR`: the recap and statistics of a run again, from its results directory
//! (its events.jsonl, so a killed run works too); `--junit` and `--csv` export it;
//! `horde report A B` compares two runs.

use super::args::ReportArgs;
use super::exit::{Exit, UsageError};
use anyhow::{Context, Result};
use horde::report::results::{self, Loaded};
use horde::report::{csv, diff, junit, recap};
use std::path::Path;

fn load(dir: &Path) -> Result<Loaded> {
    let loaded = results::load(dir)?;
    for w in &loaded.warnings {
        super::warn(w);
    }
    Ok(loaded)
}

fn export(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: ReportArgs) -> Result<Exit> {
    if let [a, b] = args.dirs.as_slice() {
        if args.junit.is_some() || args.csv.is_some() {
            return Err(UsageError(
                "--junit and --csv export one run: give one results directory".into(),
            )
            .into());
        }
        let (ra, rb) = (load(a)?.record, load(b)?.record);
        let (sa, sb) = (ra.statistics(), rb.statistics());
        let d = diff::compare(&ra, Some(&sa), &rb, Some(&sb));
        print!(
            "{}",
            diff::text(&d, &a.display().to_string(), &b.display().to_string())
        );
        return Ok(Exit::Ok);
    }
    let Some(dir) = args.dirs.first() else {
        return Err(UsageError("give a results directory".into()).into());
    };
    let loaded = load(dir)?;
    let record = &loaded.record;
    if !record.complete() {
        let finished: usize = record
            .plays
            .iter()
            .flat_map(|p| &p.tasks)
            .map(|t| t.results.len())
            .sum();
        super::warn(&format!(
            "the run in {} did not finish: the recap counts the {finished} results it recorded",
            dir.display()
        ));
    }
    print!("{}", recap::text(&record.recap()));
    let table = record.statistics_table();
    if !table.is_empty() {
        println!("{table}");
    }
    if let Some(path) = &args.junit {
        export(path, &junit::render(record))?;
    }
    if let Some(path) = &args.csv {
        export(path, &csv::render(record))?;
    }
    Ok(Exit::Ok)
}
