//! `horde replay DIR`: runs again what a run ran: its command line from run.json, in its
//! working directory, with its seed; `--failed` only on the hosts that failed or were
//! unreachable (its events say which), `--case ID` one matrix case. The new run writes its
//! own results directory (`replay_of` in its run.json names the old one).

use super::args::{Cli, Command, ReplayArgs};
use super::exit::{Exit, UsageError};
use anyhow::{Context, Result, anyhow};
use clap::{CommandFactory, Parser};
use horde::report::record::HostOutcome;
use horde::report::results;
use std::path::{Path, PathBuf};

/// Removes an option and its value from a command line: `--long V`, `--long=V`, and with a
/// short name `-s V` and `-sV`; a flag without value with `takes_value` false.
fn strip(argv: &mut Vec<String>, long: &str, short: Option<char>, takes_value: bool) {
    let long_flag = format!("--{long}");
    let short_flag = short.map(|c| format!("-{c}"));
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        if a == "--" {
            break;
        }
        let exact = a == long_flag || short_flag.as_deref() == Some(a);
        let joined = takes_value
            && (a.starts_with(&format!("{long_flag}="))
                || short_flag
                    .as_deref()
                    .is_some_and(|s| a.starts_with(s) && a.len() > 2 && !a.starts_with("--")));
        if exact {
            let n = if takes_value { 2 } else { 1 };
            argv.drain(i..(i + n).min(argv.len()));
        } else if joined {
            argv.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Whether this horde's `command` takes `--long`.
fn supports(command: &str, long: &str) -> bool {
    Cli::command()
        .find_subcommand(command)
        .is_some_and(|c| c.get_arguments().any(|a| a.get_long() == Some(long)))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A command line as a shell would take it back.
fn shell_line(argv: &[String]) -> String {
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c))
    };
    argv.iter()
        .map(|a| {
            if safe(a) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: ReplayArgs) -> Result<Exit> {
    let dir = absolute(&args.dir);
    let loaded = results::load(&dir)?;
    let run_json = dir.join("run.json");
    let run = loaded
        .run
        .as_ref()
        .ok_or_else(|| anyhow!("{}: missing: it says what to run again", run_json.display()))?;
    let mut argv: Vec<String> = run["argv"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let command = run["command"].as_str().unwrap_or_default().to_string();
    if argv.len() < 2 || !matches!(command.as_str(), "apply" | "run") {
        return Err(anyhow!(
            "{}: no apply or run command line in \"argv\"",
            run_json.display()
        ));
    }
    let cwd = run["cwd"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("{}: no \"cwd\"", run_json.display()))?;

    // This replay's own results and output, not the old run's.
    strip(&mut argv, "results", None, true);
    strip(&mut argv, "junit", None, true);
    strip(&mut argv, "json", None, false);

    if args.failed {
        let hosts: Vec<String> = loaded
            .record
            .host_outcomes()
            .into_iter()
            .filter(|(_, o)| *o != HostOutcome::Ok)
            .map(|(h, _)| h)
            .collect();
        if hosts.is_empty() {
            eprintln!(
                "nothing to replay: no host failed or was unreachable in {}",
                dir.display()
            );
            return Ok(Exit::Ok);
        }
        strip(&mut argv, "limit", Some('l'), true);
        argv.extend(["--limit".to_string(), hosts.join(",")]);
    }
    let seed = loaded.record.seed.or_else(|| run["seed"].as_u64());
    if let Some(seed) = seed
        && supports(&command, "seed")
    {
        strip(&mut argv, "seed", None, true);
        argv.extend(["--seed".to_string(), seed.to_string()]);
    }
    if let Some(case) = &args.case {
        let cases: Vec<&str> = loaded
            .record
            .plays
            .iter()
            .filter_map(|p| p.case.as_deref())
            .collect();
        if !cases.contains(&case.as_str()) {
            let known = if cases.is_empty() {
                "it ran no matrix cases".to_string()
            } else {
                format!("its cases are {}", cases.join(", "))
            };
            return Err(UsageError(format!(
                "--case {case}: no such case in {}: {known}",
                dir.display()
            ))
            .into());
        }
        if !supports(&command, "case") {
            return Err(UsageError(format!(
                "--case: this horde's {command} cannot run one matrix case"
            ))
            .into());
        }
        strip(&mut argv, "case", None, true);
        argv.extend(["--case".to_string(), case.clone()]);
    }
    if let Some(r) = &args.results.results {
        argv.extend(["--results".to_string(), absolute(r).display().to_string()]);
    }
    if let Some(j) = &args.results.junit {
        argv.extend(["--junit".to_string(), absolute(j).display().to_string()]);
    }
    if args.results.json {
        argv.push("--json".into());
    }

    std::env::set_current_dir(&cwd).with_context(|| {
        format!(
            "cannot go to the run's working directory {} (from {})",
            cwd.display(),
            run_json.display()
        )
    })?;
    let cli = Cli::try_parse_from(&argv).map_err(|e| {
        UsageError(format!(
            "{}: the recorded command line does not parse: {}",
            run_json.display(),
            e.to_string().trim()
        ))
    })?;
    let mut command = cli.command;
    match &mut command {
        Command::Apply(a) => a.results.replay_of = Some(dir.clone()),
        Command::Run(a) => a.results.replay_of = Some(dir.clone()),
        _ => {}
    }
    if !args.results.json {
        eprintln!("replaying {}: {}", dir.display(), shell_line(&argv));
    }
    super::dispatch(command, argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn options_are_stripped_in_every_spelling() {
        let mut a = v("horde apply -l web --limit=db -ldb2 --results out -v pb.yml --json");
        strip(&mut a, "limit", Some('l'), true);
        strip(&mut a, "results", None, true);
        strip(&mut a, "json", None, false);
        assert_eq!(a, v("horde apply -v pb.yml"));
        let mut b = v("horde run all -a x -- --limit y");
        strip(&mut b, "limit", Some('l'), true);
        assert_eq!(b, v("horde run all -a x -- --limit y"));
    }

    #[test]
    fn support_for_an_option_is_read_from_the_grammar() {
        assert!(supports("apply", "limit"));
        assert!(!supports("apply", "no-such-option"));
    }

    #[test]
    fn command_lines_are_quoted_for_the_shell() {
        assert_eq!(
            shell_line(&v("horde run all -a")),
            "horde run all -a".to_string()
        );
        assert_eq!(shell_line(&["it's".into()]), r"'it'\''s'");
    }
}
