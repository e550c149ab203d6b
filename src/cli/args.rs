//! The command-line grammar. Flags follow Ansible's where one exists.

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Run one command on every matching host (ad-hoc, like `ansible PATTERN -a ARGS`).
    #[command(
        after_help = "When stderr is a terminal, a live display there shows the hosts \
        done of all and the hosts still running, slowest first, with their time (redirect \
        stderr or use -q to go without)."
    )]
    Run(Box<RunArgs>),
    /// Run playbooks, as `ansible-playbook` does (same flags, output and exit codes).
    #[command(
        after_help = "When stderr is a terminal, a live display there shows the \
        current task's hosts done of all, the ok/changed/failed/unreachable counts so far, \
        and the hosts still running, slowest first, with their time (redirect stderr or use \
        -q to go without)."
    )]
    Apply(Box<ApplyArgs>),
    /// Print the recap and statistics of a run again from its results directory; export
    /// JUnit or CSV; compare two runs.
    Report(ReportArgs),
    /// Run again what a run ran (its command line, settings and seed): all of it, its
    /// failed hosts, or one matrix case.
    Replay(ReplayArgs),
}

/// Where hosts come from.
#[derive(Debug, Args)]
pub struct InventorySource {
    /// Inventory: a YAML/INI file, a directory of them, an executable script, or a comma
    /// list like `a,b,`; `run` and `apply` also take `lab:N` (N embedded lab hosts). Repeat to
    /// merge several in order. Defaults to $ANSIBLE_INVENTORY.
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

/// The most forks: as many as the largest host range (`web[1:1000000]`) has hosts.
const MAX_FORKS: u64 = 1_000_000;

/// How many hosts at once, and the extra variables (flags as Ansible's).
#[derive(Debug, Args)]
pub struct WorkArgs {
    /// How many hosts to work on at once (1 to 1000000).
    #[arg(
        short = 'f',
        long = "forks",
        value_name = "FORKS",
        default_value_t = 50,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_FORKS)
    )]
    pub forks: usize,

    /// Extra variables: key=value, JSON, or @file; repeatable; they win over all others.
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS")]
    pub extra_vars: Vec<String>,
}

impl WorkArgs {
    /// The `-e` arguments merged in order.
    pub fn extra_vars(&self) -> Result<horde::vars::Vars, super::exit::UsageError> {
        let mut extra = horde::vars::Vars::new();
        for e in &self.extra_vars {
            horde::vars::combine(
                &mut extra,
                &horde::vars::parse_extra_vars(e).map_err(super::exit::UsageError)?,
            );
        }
        Ok(extra)
    }
}

/// How to connect and authenticate (flags as Ansible's).
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Connect as this user (a host's ansible_user wins).
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,

    /// Private key file to authenticate with (a host's ansible_ssh_private_key_file wins).
    #[arg(long = "private-key", visible_alias = "key-file", value_name = "FILE")]
    pub private_key: Option<std::path::PathBuf>,

    /// Ask for the connection password.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,

    /// Connection timeout in seconds (connect, key exchange, authentication).
    #[arg(
        short = 'T',
        long = "timeout",
        value_name = "SECONDS",
        default_value_t = 10.0,
        value_parser = positive_seconds_arg
    )]
    pub timeout: f64,

    /// What to do with unknown host keys: strict, accept-new (record them) or off. A changed
    /// key is always refused.
    #[arg(
        long = "host-key-checking",
        value_name = "MODE",
        env = "HORDE_HOST_KEY_CHECKING"
    )]
    pub host_key_checking: Option<String>,

    /// known_hosts file to check and record host keys in (default: ~/.ssh/known_hosts).
    #[arg(long = "known-hosts", value_name = "FILE")]
    pub known_hosts: Option<std::path::PathBuf>,

    /// OpenSSH client config file (default: ~/.ssh/config).
    #[arg(short = 'F', long = "ssh-config", value_name = "FILE")]
    pub ssh_config: Option<std::path::PathBuf>,

    /// Jump host(s) to connect through: `[user@]host[:port][,...]`.
    #[arg(short = 'J', long = "jump", value_name = "JUMP")]
    pub jump: Option<String>,
}

/// Privilege escalation (flags as Ansible's).
#[derive(Debug, Args)]
pub struct BecomeArgs {
    /// Run commands as another user (sudo by default).
    #[arg(short = 'b', long = "become")]
    pub become_: bool,

    /// The user to become.
    #[arg(long = "become-user", value_name = "USER", default_value = "root")]
    pub become_user: String,

    /// How to become: sudo or su.
    #[arg(long = "become-method", value_name = "METHOD", default_value = "sudo")]
    pub become_method: String,

    /// Ask for the become password.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
}

/// The run's results directory and machine-readable output (`apply` and `run`).
#[derive(Debug, Args, Default)]
pub struct ResultsArgs {
    /// Write the run's results (run.json, events.jsonl, summary.json, junit.xml, hosts/) to
    /// DIR. Default: a new horde-results/<timestamp>/ in the current directory (or under
    /// $HORDE_RESULTS_ROOT), with a `latest` link to it.
    #[arg(long = "results", value_name = "DIR")]
    pub results: Option<std::path::PathBuf>,

    /// Print the event stream as JSON lines on standard output instead of the human output.
    #[arg(long = "json")]
    pub json: bool,

    /// Also write the JUnit XML report to FILE.
    #[arg(long = "junit", value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,

    /// The command line as given (kept in run.json; set after parsing).
    #[arg(skip)]
    pub argv: Vec<String>,

    /// The results directory this run replays (set by `horde replay`).
    #[arg(skip)]
    pub replay_of: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results directory (such as horde-results/latest); give two to compare the runs.
    #[arg(value_name = "RESULTS_DIR", required = true, num_args = 1..=2)]
    pub dirs: Vec<std::path::PathBuf>,

    /// Write the run's JUnit XML report to FILE.
    #[arg(long = "junit", value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,

    /// Write one CSV row per host and task to FILE (play, case, host, task_id, task,
    /// status, duration, rc).
    #[arg(long = "csv", value_name = "FILE")]
    pub csv: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The results directory of the run to replay.
    #[arg(value_name = "RESULTS_DIR")]
    pub dir: std::path::PathBuf,

    /// Only on the hosts that failed or were unreachable (as Ansible's retry file).
    #[arg(long = "failed")]
    pub failed: bool,

    /// Only this matrix case.
    #[arg(long = "case", value_name = "ID")]
    pub case: Option<String>,

    #[command(flatten)]
    pub results: ResultsArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: InventorySource,

    /// Host pattern.
    #[arg(value_name = "PATTERN")]
    pub pattern: String,

    /// Module: command (default), shell or raw.
    #[arg(
        short = 'm',
        long = "module-name",
        value_name = "MODULE",
        default_value = "command"
    )]
    pub module: String,

    /// Module arguments: the command line.
    #[arg(short = 'a', long = "args", value_name = "ARGS", default_value = "")]
    pub args: String,

    #[command(flatten)]
    pub work: WorkArgs,

    /// One line per host.
    #[arg(short = 'o', long = "one-line")]
    pub one_line: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    /// List the matching hosts and do nothing else.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,

    /// Give up on a command after this many seconds (0: never).
    #[arg(
        long = "command-timeout",
        value_name = "SECONDS",
        default_value_t = 0.0,
        value_parser = seconds_arg
    )]
    pub command_timeout: f64,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub become_: BecomeArgs,

    #[command(flatten)]
    pub results: ResultsArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub source: InventorySource,

    /// Playbook files, run in order.
    #[arg(value_name = "PLAYBOOK", required = true)]
    pub playbooks: Vec<std::path::PathBuf>,

    #[command(flatten)]
    pub work: WorkArgs,

    /// Run only tasks and plays with these tags (comma-separated; repeatable).
    #[arg(short = 't', long = "tags", value_name = "TAGS")]
    pub tags: Vec<String>,

    /// Skip tasks and plays with these tags (comma-separated; repeatable).
    #[arg(long = "skip-tags", value_name = "TAGS")]
    pub skip_tags: Vec<String>,

    /// Check mode: report what would change, change nothing.
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Show the differences in files and templates that tasks change.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,

    /// List the hosts each play would run on, and stop.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,

    /// List the tasks each play would run, and stop.
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,

    /// List the tags of each play, and stop.
    #[arg(long = "list-tags")]
    pub list_tags: bool,

    /// Check the playbooks' syntax (and module arguments), and stop.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,

    /// Start at the first task with this name.
    #[arg(long = "start-at-task", value_name = "NAME")]
    pub start_at_task: Option<String>,

    /// Run handlers even on hosts that failed.
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,

    /// More output: -v shows every result, -vv also each task's file and line (`task
    /// path:`).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub orchestration: OrchestrationArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub become_: BecomeArgs,

    #[command(flatten)]
    pub results: ResultsArgs,
}

/// How much to print, and whether in color (`horde run` and `horde apply`).
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Print only warnings, errors (failed and unreachable hosts) and apply's recap (with
    /// the statistics table when there is one); no progress display.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// Color the output as Ansible does: auto (when standard output is a terminal and
    /// NO_COLOR is unset or empty), always or never.
    #[arg(long = "color", value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Fleet-test settings of `horde apply` (see docs/orchestration.md).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Fleet tests")]
pub struct OrchestrationArgs {
    /// Run every task that has `iterations:` N times per host instead.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
    pub iterations: Option<u64>,

    /// Seed of the random orders (`strategy: shuffle`, `order: shuffle`); a run prints
    /// its seed, and the same seed gives the same order back.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Run only this matrix case (its id, as printed: `fs=ext4,mode=sync`).
    #[arg(long = "case", value_name = "ID")]
    pub case: Option<String>,

    /// How long `events:` schedules run (overrides `events: duration`), e.g. 30s, 5m, 3h.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub duration: Option<std::time::Duration>,

    /// Stop the run after this long (e.g. 90s, 10m): running tasks are stopped, teardown
    /// runs, the exit code is 2. (`-T/--timeout` is the connection timeout, as Ansible's.)
    #[arg(long = "run-timeout", value_name = "DURATION", value_parser = parse_duration_arg)]
    pub run_timeout: Option<std::time::Duration>,

    /// Print the statistics table after the recap (it is printed anyway for playbooks that
    /// use iterations, setup, teardown, barriers, matrix, events or shuffle).
    #[arg(long)]
    pub stats: bool,
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    horde::playbook::parse_duration(s)
}

/// Seconds (`--command-timeout`): from 0 to 100 years (`Duration` cannot hold every f64).
fn seconds_arg(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    horde::duration::from_secs(secs)?;
    Ok(secs)
}

/// Seconds more than 0 (`-T/--timeout`).
fn positive_seconds_arg(s: &str) -> Result<f64, String> {
    let secs = seconds_arg(s)?;
    if secs > 0.0 {
        Ok(secs)
    } else {
        Err("the timeout must be more than 0 seconds".into())
    }
}
