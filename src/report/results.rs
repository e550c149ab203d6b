//! The results directory of a run: [`create`] makes it (a timestamped folder with a
//! `latest` link, or the one given), [`Writer`] fills it as events come (`run.json`,
//! `events.jsonl` line by line, `hosts/<host>/<NNN-task>/`) and at the end (`summary.json`,
//! `junit.xml`); [`load`] reads one back, also one whose run was killed. The layout is in
//! docs/results.md.

use super::record::RunRecord;
use super::{junit, summary};
use crate::engine::{Event, HostResult, Sample};
use crate::vars::Vars;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A results directory that could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{} is not a results directory: it has no events.jsonl", path.display())]
    NotResults { path: PathBuf },
    #[error(
        "{} is not empty and holds no earlier results (no run.json): give a new or empty directory",
        path.display()
    )]
    NotEmpty { path: PathBuf },
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ResultsError + '_ {
    move |source| ResultsError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a run's results go.
#[derive(Debug, Clone)]
pub enum Location {
    /// This directory (`--results DIR`): made if missing; earlier results in it are replaced.
    Exactly(PathBuf),
    /// A new `<timestamp>` folder under this one, with `latest` pointing at it.
    Under(PathBuf),
}

/// Makes the run's directory and returns its path.
pub fn create(location: &Location, now: f64) -> Result<PathBuf, ResultsError> {
    match location {
        Location::Exactly(dir) => {
            if let Ok(mut entries) = std::fs::read_dir(dir)
                && entries.next().is_some()
            {
                if !dir.join("run.json").is_file() {
                    return Err(ResultsError::NotEmpty { path: dir.clone() });
                }
                std::fs::remove_dir_all(dir).map_err(write_err(dir))?;
            }
            std::fs::create_dir_all(dir).map_err(write_err(dir))?;
            Ok(dir.clone())
        }
        Location::Under(root) => {
            std::fs::create_dir_all(root).map_err(write_err(root))?;
            let stamp = timestamp_name(now);
            let mut n = 1;
            let (name, dir) = loop {
                let name = if n == 1 {
                    stamp.clone()
                } else {
                    format!("{stamp}-{n}")
                };
                let dir = root.join(&name);
                match std::fs::create_dir(&dir) {
                    Ok(()) => break (name, dir),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                    Err(e) => return Err(write_err(&dir)(e)),
                }
            };
            // Swing `latest` over atomically: a new link under a temporary name, renamed.
            let tmp = root.join(format!(".latest-{}", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&name, &tmp).map_err(write_err(&tmp))?;
            let latest = root.join("latest");
            std::fs::rename(&tmp, &latest).map_err(write_err(&latest))?;
            Ok(dir)
        }
    }
}

/// `2026-01-15T10-30-00Z` (UTC): sorts by time, no colons.
pub fn timestamp_name(unix: f64) -> String {
    iso8601(unix).replace(':', "-")
}

/// `2026-01-15T10:30:00Z` (UTC, whole seconds).
pub fn iso8601(unix: f64) -> String {
    let secs = unix.max(0.0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the Unix epoch, now.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A task name as a folder name: lowercase letters, digits and dashes, at most 60.
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
        if s.len() >= 60 {
            break;
        }
    }
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "task".into()
    } else {
        s.to_string()
    }
}

/// A host name or case id as one path component (no `/`, never `.` or `..`).
fn component(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    match s.as_str() {
        "" | "." | ".." => format!("_{s}"),
        _ => s,
    }
}

const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// The event as it may be kept or shown: a `no_log` result reduced to Ansible's censored one.
pub fn shareable(event: &Event) -> std::borrow::Cow<'_, Event> {
    let censor = |r: &HostResult| {
        let mut r = r.clone();
        let changed = r.result.get("changed").cloned().unwrap_or(json!(false));
        r.result = Vars::new();
        r.result.insert("censored".into(), json!(CENSORED));
        r.result.insert("changed".into(), changed);
        r
    };
    match event {
        Event::Host(r) if r.no_log => std::borrow::Cow::Owned(Event::Host(censor(r))),
        Event::Item(r) if r.no_log => std::borrow::Cow::Owned(Event::Item(censor(r))),
        _ => std::borrow::Cow::Borrowed(event),
    }
}

/// `sha256:<hex>` of what the inventory was made of: each source's name and bytes (a
/// directory's files in path order), a comma list's text, and for a `lab:N` source the
/// host names (its files hold random ports).
pub fn inventory_digest(sources: &[String], hosts: &[String]) -> String {
    use sha2::{Digest, Sha256};
    fn files(path: &Path, out: &mut Vec<PathBuf>) {
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                entries.sort();
                for e in entries {
                    files(&e, out);
                }
            }
            Err(_) => out.push(path.to_path_buf()),
        }
    }
    let mut h = Sha256::new();
    for source in sources {
        h.update(source.as_bytes());
        h.update([0]);
        let path = Path::new(source);
        if source.starts_with("lab:") {
            for name in hosts {
                h.update(name.as_bytes());
                h.update([b'\n']);
            }
        } else if path.exists() {
            let mut list = Vec::new();
            files(path, &mut list);
            for f in list {
                h.update(f.to_string_lossy().as_bytes());
                h.update([0]);
                h.update(std::fs::read(&f).unwrap_or_default());
                h.update([0]);
            }
        }
    }
    format!("sha256:{}", data_encoding::HEXLOWER.encode(&h.finalize()))
}

/// How the run ended, as the command line saw it.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd {
    pub exit_code: i32,
    pub interrupted: bool,
}

/// Fills a results directory as a run goes.
pub struct Writer {
    dir: PathBuf,
    run: Value,
    events: File,
    record: RunRecord,
    started: f64,
    /// The folder (relative to `dir`) of the current play's hosts: `hosts` or
    /// `cases/<id>/hosts`.
    hosts: PathBuf,
    /// Task id to (hosts folder, `NNN-slug`).
    tasks: HashMap<u32, (PathBuf, String)>,
    written: HashSet<PathBuf>,
}

impl Writer {
    /// Writes `run.json` (what ran, how: see docs/results.md) and opens `events.jsonl`.
    pub fn start(dir: &Path, run: Value) -> Result<Writer, ResultsError> {
        write_json(&dir.join("run.json"), &run)?;
        let path = dir.join("events.jsonl");
        let events = File::create(&path).map_err(write_err(&path))?;
        Ok(Writer {
            dir: dir.to_path_buf(),
            run,
            events,
            record: RunRecord::new(),
            started: now(),
            hosts: PathBuf::from("hosts"),
            tasks: HashMap::new(),
            written: HashSet::new(),
        })
    }

    /// Records one event: a line in `events.jsonl`, written through at once (a killed run
    /// keeps every line already written), and a result's files under `hosts/`.
    pub fn add(&mut self, event: &Event) -> Result<(), ResultsError> {
        let event = shareable(event);
        let mut line = serde_json::to_vec(&*event).map_err(|e| ResultsError::Write {
            path: self.dir.join("events.jsonl"),
            source: e.into(),
        })?;
        line.push(b'\n');
        self.events
            .write_all(&line)
            .map_err(write_err(&self.dir.join("events.jsonl")))?;
        self.record.add(&event);
        match &*event {
            Event::RunStart { seed } => {
                self.run["seed"] = json!(seed);
                write_json(&self.dir.join("run.json"), &self.run)?;
            }
            Event::PlayStart { case, .. } => {
                self.hosts = match case {
                    Some(c) => Path::new("cases").join(component(c)).join("hosts"),
                    None => PathBuf::from("hosts"),
                };
            }
            Event::TaskStart { id, name, .. } => {
                self.tasks
                    .entry(*id)
                    .or_insert_with(|| (self.hosts.clone(), format!("{id:03}-{}", slug(name))));
            }
            Event::Host(r) => {
                let dir = self.task_dir(r.task_id, &r.host);
                let dir = self.unused(dir);
                self.result_files(&dir, &r.result)?;
            }
            Event::Sample(Sample {
                task_id,
                host,
                iteration: Some(i),
                result: Some(result),
                ..
            }) => {
                let dir = self.task_dir(*task_id, host).join(format!("iter-{i:04}"));
                self.result_files(&dir, result)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn task_dir(&self, task_id: u32, host: &str) -> PathBuf {
        let (hosts, task) = self
            .tasks
            .get(&task_id)
            .cloned()
            .unwrap_or_else(|| (self.hosts.clone(), format!("{task_id:03}-task")));
        self.dir.join(hosts).join(component(host)).join(task)
    }

    /// `dir`, or `dir-2`, `dir-3` ... when a result of the same task and host (a handler
    /// run twice) is already there.
    fn unused(&mut self, dir: PathBuf) -> PathBuf {
        let mut candidate = dir.clone();
        let mut n = 1;
        while self.written.contains(&candidate) {
            n += 1;
            candidate = PathBuf::from(format!("{}-{n}", dir.display()));
        }
        self.written.insert(candidate.clone());
        candidate
    }

    /// `stdout` and `stderr` (when not empty) and `result.json`. Written directly, not
    /// through a temporary file: a run makes thousands of these, and every file created
    /// costs (events.jsonl is the record that must survive a kill).
    fn result_files(&self, dir: &Path, result: &Vars) -> Result<(), ResultsError> {
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        for key in ["stdout", "stderr"] {
            if let Some(Value::String(s)) = result.get(key)
                && !s.is_empty()
            {
                let path = dir.join(key);
                std::fs::write(&path, s).map_err(write_err(&path))?;
            }
        }
        let path = dir.join("result.json");
        let mut text = serde_json::to_string_pretty(&Value::Object(result.clone()))
            .unwrap_or_else(|_| "{}".into());
        text.push('\n');
        std::fs::write(&path, text).map_err(write_err(&path))
    }

    /// Writes `summary.json` and `junit.xml`.
    pub fn finish(self, end: RunEnd) -> Result<PathBuf, ResultsError> {
        let times = (self.started, now());
        let summary = summary::summary(&self.record, end, times);
        write_json(&self.dir.join("summary.json"), &summary)?;
        let path = self.dir.join("junit.xml");
        std::fs::write(&path, junit::render(&self.record)).map_err(write_err(&path))?;
        Ok(self.dir)
    }
}

/// Pretty JSON, written whole under a temporary name and renamed.
fn write_json(path: &Path, value: &Value) -> Result<(), ResultsError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| ResultsError::Write {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    text.push('\n');
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(write_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(write_err(path))
}

/// A results directory read back.
#[derive(Debug)]
pub struct Loaded {
    /// `run.json`, when there is one.
    pub run: Option<Value>,
    pub record: RunRecord,
    /// What was odd but did not stop the reading (a cut last line, unknown events).
    pub warnings: Vec<String>,
}

/// Reads a results directory: `run.json` if there, and every event of `events.jsonl`.
pub fn load(dir: &Path) -> Result<Loaded, ResultsError> {
    let events_path = dir.join("events.jsonl");
    if !events_path.is_file() {
        return Err(ResultsError::NotResults {
            path: dir.to_path_buf(),
        });
    }
    let run_path = dir.join("run.json");
    let run = if run_path.is_file() {
        let text = std::fs::read_to_string(&run_path).map_err(|source| ResultsError::Read {
            path: run_path.clone(),
            source,
        })?;
        Some(
            serde_json::from_str(&text).map_err(|e| ResultsError::Malformed {
                path: run_path.clone(),
                line: e.line(),
                message: e.to_string(),
            })?,
        )
    } else {
        None
    };
    let text = std::fs::read_to_string(&events_path).map_err(|source| ResultsError::Read {
        path: events_path.clone(),
        source,
    })?;
    let mut record = RunRecord::new();
    let mut warnings = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut unknown = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |message: String| ResultsError::Malformed {
            path: events_path.clone(),
            line: i + 1,
            message,
        };
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // The run was killed while writing its last line.
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {
                warnings.push(format!(
                    "{}:{}: the last line is cut (the run was stopped while writing it); ignored",
                    events_path.display(),
                    i + 1
                ));
                continue;
            }
            Err(e) => return Err(malformed(format!("not JSON: {e}"))),
        };
        match serde_json::from_value::<Event>(value) {
            Ok(event) => record.add(&event),
            Err(e) if e.to_string().contains("unknown variant") => unknown += 1,
            Err(e) => return Err(malformed(format!("not an event: {e}"))),
        }
    }
    if unknown > 0 {
        warnings.push(format!(
            "{}: {unknown} events of kinds this horde does not know were skipped",
            events_path.display()
        ));
    }
    Ok(Loaded {
        run,
        record,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Status, TaskKind};

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_767_225_599.9), "2025-12-31T23:59:59Z");
        assert_eq!(timestamp_name(1_700_000_000.0), "2023-11-14T22-13-20Z");
    }

    #[test]
    fn slugs_are_safe_folder_names() {
        assert_eq!(slug("Write /etc/motd (again)!"), "write-etc-motd-again");
        assert_eq!(slug("***"), "task");
        assert_eq!(slug(&"x".repeat(100)).len(), 60);
        assert_eq!(component(".."), "_..");
        assert_eq!(component("a/b"), "a_b");
    }

    #[test]
    fn a_second_run_under_one_root_gets_its_own_folder_and_latest_follows() {
        let root = tempfile::tempdir().unwrap();
        let loc = Location::Under(root.path().to_path_buf());
        let a = create(&loc, 1_700_000_000.0).unwrap();
        let b = create(&loc, 1_700_000_000.0).unwrap();
        assert_ne!(a, b);
        assert!(b.ends_with("2023-11-14T22-13-20Z-2"));
        let latest = std::fs::read_link(root.path().join("latest")).unwrap();
        assert_eq!(latest, PathBuf::from("2023-11-14T22-13-20Z-2"));
    }

    #[test]
    fn the_inventory_digest_follows_the_bytes_and_the_lab_host_names() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("hosts.ini");
        std::fs::write(&inv, "a\n").unwrap();
        let src = vec![inv.display().to_string()];
        let one = inventory_digest(&src, &[]);
        assert!(one.starts_with("sha256:") && one.len() == 71, "{one}");
        std::fs::write(&inv, "b\n").unwrap();
        assert_ne!(inventory_digest(&src, &[]), one);
        let lab = vec!["lab:2".to_string()];
        let hosts = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            inventory_digest(&lab, &hosts(&["lab01", "lab02"])),
            inventory_digest(&lab, &hosts(&["lab01", "lab02"]))
        );
        assert_ne!(
            inventory_digest(&lab, &hosts(&["lab01"])),
            inventory_digest(&lab, &hosts(&["lab01", "lab02"]))
        );
    }

    #[test]
    fn a_directory_of_other_files_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious"), "x").unwrap();
        let err = create(&Location::Exactly(dir.path().to_path_buf()), 0.0).unwrap_err();
        assert!(matches!(err, ResultsError::NotEmpty { .. }), "{err}");
        assert!(dir.path().join("precious").exists());
    }

    fn host(host: &str, task_id: u32, status: Status, no_log: bool) -> Event {
        let mut result = Vars::new();
        result.insert("stdout".into(), json!("secret out"));
        result.insert("rc".into(), json!(0));
        Event::Host(HostResult {
            no_log,
            ..HostResult::new(host, task_id, status, result, "command", 1.0, 2.0)
        })
    }

    #[test]
    fn events_and_result_files_land_where_the_layout_says() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::start(dir.path(), json!({"argv": ["horde"]})).unwrap();
        let events = [
            Event::RunStart { seed: 42 },
            Event::PlayStart {
                name: "p".into(),
                case: Some("fs=xfs".into()),
            },
            Event::TaskStart {
                id: 7,
                name: "Say hello".into(),
                kind: TaskKind::Task,
                origin: "pb.yml:1:1".into(),
            },
            Event::Sample(Sample {
                task_id: 7,
                host: "web1".into(),
                iteration: Some(2),
                start: 1.0,
                duration: 0.5,
                rc: Some(0),
                status: Status::Ok,
                result: Some(
                    [("stdout".to_string(), json!("second"))]
                        .into_iter()
                        .collect(),
                ),
            }),
            host("web1", 7, Status::Changed, false),
            host("web1", 7, Status::Ok, true),
        ];
        for e in &events {
            w.add(e).unwrap();
        }
        let task = dir.path().join("cases/fs=xfs/hosts/web1/007-say-hello");
        assert_eq!(
            std::fs::read_to_string(task.join("stdout")).unwrap(),
            "secret out"
        );
        assert_eq!(
            std::fs::read_to_string(task.join("iter-0002/stdout")).unwrap(),
            "second"
        );
        // The no_log result (same task again) is censored everywhere it is kept.
        let again = dir.path().join("cases/fs=xfs/hosts/web1/007-say-hello-2");
        assert!(!again.join("stdout").exists());
        let jsonl = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
        assert_eq!(jsonl.lines().count(), events.len());
        assert_eq!(jsonl.matches("secret out").count(), 1, "{jsonl}");
        let run: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
                .unwrap();
        assert_eq!(run["seed"], json!(42));

        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.record.seed, Some(42));
        assert_eq!(loaded.record.plays[0].tasks[0].results.len(), 2);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn a_cut_last_line_is_a_warning_and_a_bad_middle_line_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(
            &path,
            "{\"event\":\"run_start\",\"seed\":1}\n{\"event\":\"pla",
        )
        .unwrap();
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.record.seed, Some(1));
        assert_eq!(loaded.warnings.len(), 1);
        std::fs::write(&path, "{\"event\":\"run_start\",\"seed\":1}\nnope\n{}\n").unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("events.jsonl:2: not JSON: "), "{err}");
        std::fs::write(&path, "{\"event\":\"something_new\"}\n").unwrap();
        assert_eq!(load(dir.path()).unwrap().warnings.len(), 1);
        let none = tempfile::tempdir().unwrap();
        let err = load(none.path()).unwrap_err().to_string();
        assert!(err.contains("no events.jsonl"), "{err}");
    }
}
