//! `horde run`: one command on every matching host, printed as Ansible's ad-hoc output
//! (`host | CHANGED | rc=0 >>`, `FAILED`, `UNREACHABLE!`), each host whole as it finishes,
//! with Ansible's exit codes.

use super::args::{BecomeArgs, ConnectionArgs, RunArgs};
use super::exit::{Exit, UsageError};
use super::output::{Color, Output};
use super::results::{AdhocEvents, Recorder, run_settings};
use anyhow::{Context, Result};
use horde::adhoc::{self, AdhocEvent, AdhocModule, AdhocRun, AdhocTask, HostResult, Outcome};
use horde::engine::Status;
use horde::inventory;
use horde::provision::Leases;
use horde::ssh::{HostKeyPolicy, SshConfig, SshContext, TargetDefaults};
use horde::transport::{Become, BecomeMethod};
use horde::vars::python_json;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub fn run(args: RunArgs) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(run_async(args))
}

fn ask(prompt: &str) -> Result<String> {
    rpassword::prompt_password(prompt).context("cannot read a password from the terminal")
}

/// Connection settings from the command line, environment and ssh_config.
pub fn target_defaults(c: &ConnectionArgs) -> Result<TargetDefaults> {
    let ssh_config = match &c.ssh_config {
        Some(path) => SshConfig::load(path, false)?,
        None => SshConfig::load(&horde::ssh::config_path(), true)?,
    };
    let host_key_policy = match &c.host_key_checking {
        Some(m) => Some(m.parse::<HostKeyPolicy>().map_err(UsageError)?),
        None => match std::env::var("ANSIBLE_HOST_KEY_CHECKING") {
            Ok(v) if matches!(v.to_ascii_lowercase().as_str(), "false" | "no" | "0") => {
                Some(HostKeyPolicy::Off)
            }
            _ => None,
        },
    };
    let timeout = horde::duration::from_secs(c.timeout)
        .map_err(|e| UsageError(format!("-T/--timeout: {e}")))?;
    Ok(TargetDefaults {
        user: c.user.clone(),
        private_key: c.private_key.clone(),
        password: if c.ask_pass {
            Some(ask("SSH password: ")?)
        } else {
            None
        },
        timeout,
        host_key_policy,
        known_hosts_file: c.known_hosts.clone(),
        ssh_config,
        jump: c.jump.clone(),
    })
}

/// The become settings, or `None` without `-b`.
pub fn become_settings(b: &BecomeArgs) -> Result<Option<Become>> {
    if !b.become_ {
        return Ok(None);
    }
    let method = match b.become_method.as_str() {
        "sudo" => BecomeMethod::Sudo,
        "su" => BecomeMethod::Su,
        other => {
            return Err(UsageError(format!(
                "--become-method {other:?}: horde supports sudo and su"
            ))
            .into());
        }
    };
    let password = if b.ask_become_pass {
        Some(ask("BECOME password: ")?)
    } else {
        None
    };
    Ok(Some(Become {
        method,
        user: b.become_user.clone(),
        password,
    }))
}

async fn run_async(args: RunArgs) -> Result<Exit> {
    let module: AdhocModule = args.module.parse().map_err(UsageError)?;
    if args.args.trim().is_empty() {
        return Err(UsageError(format!(
            "the {} module needs a command: -a 'ARGS'",
            args.module
        ))
        .into());
    }
    let extra = args.work.extra_vars()?;
    let timeout = horde::duration::from_secs(args.command_timeout)
        .map_err(|e| UsageError(format!("--command-timeout: {e}")))?;
    let task = AdhocTask {
        module,
        args: args.args.clone(),
        become_: become_settings(&args.become_)?,
        timeout: (!timeout.is_zero()).then_some(timeout),
    };
    task.command_line().map_err(UsageError)?;
    let defaults = target_defaults(&args.connection)?;

    if args.source.inventory.is_empty() {
        return Err(UsageError(
            "no inventory given: pass -i FILE, -i DIR, -i 'host1,host2,' or -i lab:N".into(),
        )
        .into());
    }
    let leases = Leases::acquire(&args.source.inventory).await?;
    let loaded = inventory::load(&leases.sources())?;
    for w in &loaded.warnings {
        super::warn(w);
    }
    let inv = Arc::new(loaded.inventory);
    let selection = inventory::select(&inv, &args.pattern, args.source.limit.as_deref())?;
    for w in &selection.warnings {
        super::warn(w);
    }
    if selection.hosts.is_empty() {
        super::warn("No hosts matched, nothing to do");
    }
    if args.list_hosts {
        println!("  hosts ({}):", selection.hosts.len());
        for h in &selection.hosts {
            println!("    {h}");
        }
        leases.release().await?;
        return Ok(Exit::Ok);
    }

    let cancel = CancellationToken::new();
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (cancel, interrupted) = (cancel.clone(), interrupted.clone());
        super::on_interrupts(
            move || {
                interrupted.store(true, std::sync::atomic::Ordering::SeqCst);
                cancel.cancel();
            },
            || {},
        );
    }
    let recorder = Recorder::start(
        &args.results,
        "run",
        run_settings(&args),
        &args.source.inventory,
        &inv,
    )?;
    let mut events = AdhocEvents::start(
        recorder,
        args.results.json,
        format!("ad-hoc: {}", args.pattern),
        format!("{}: {}", module.name(), args.args),
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Arc::new(SshContext::new(defaults));
    let spec = AdhocRun {
        inventory: inv.clone(),
        hosts: selection.hosts.clone(),
        task: Arc::new(task),
        extra_vars: Arc::new(extra),
        ssh: ctx,
        forks: args.work.forks,
    };
    let runner = tokio::spawn(adhoc::run(spec, cancel.clone(), tx));
    let mut output = Output::new(&args.output, !args.results.json);
    if let Some(p) = output.progress() {
        let title = format!("{} -a {}", args.module, args.args);
        p.update(|board, _| {
            board.batch(&selection.hosts);
            board.task(0, title, true);
        });
    }
    let (mut failed, mut unreachable) = (0usize, 0usize);
    while let Some(event) = rx.recv().await {
        let result = match event {
            AdhocEvent::Started(host) => {
                if let Some(p) = output.progress() {
                    p.update(|board, now| board.host_start(0, &host, now));
                }
                continue;
            }
            AdhocEvent::Finished(result) => result,
        };
        events.result(&result, module);
        let rendered = render(&result, module, args.one_line);
        if let Some(p) = output.progress() {
            let status = match rendered {
                Rendered::Ok(_) => Some(Status::Changed),
                Rendered::Failed(_) => Some(Status::Failed),
                Rendered::Unreachable(_) => Some(Status::Unreachable),
                Rendered::Nothing => None,
            };
            p.update(|board, _| board.host_done(0, &result.host, status, false));
        }
        // Ansible's minimal callback colors: changed yellow, failed red, unreachable bright red.
        let (text, color) = match rendered {
            Rendered::Failed(t) => {
                failed += 1;
                (t, Color::Error)
            }
            Rendered::Unreachable(t) => {
                unreachable += 1;
                (t, Color::Unreachable)
            }
            Rendered::Ok(t) if !output.quiet => (t, Color::Changed),
            Rendered::Ok(_) | Rendered::Nothing => continue,
        };
        if args.results.json {
            continue;
        }
        output.line(text.strip_suffix('\n').unwrap_or(&text), Some(color));
    }
    output.finish_progress();
    let _ = runner.await;
    let interrupted = interrupted.load(std::sync::atomic::Ordering::SeqCst);
    let exit = if interrupted {
        Exit::Interrupted
    } else if unreachable > 0 {
        Exit::Unreachable
    } else if failed > 0 {
        Exit::HostFailed
    } else {
        Exit::Ok
    };
    events.finish(exit, interrupted);
    leases.release().await?;
    if interrupted {
        eprintln!("[ERROR]: User interrupted execution");
    }
    Ok(exit)
}

enum Rendered {
    Ok(String),
    Failed(String),
    Unreachable(String),
    Nothing,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One host's result as Ansible's minimal (or, with `-o`, oneline) callback prints it.
fn render(result: &HostResult, module: AdhocModule, one_line: bool) -> Rendered {
    let host = &result.host;
    match &result.outcome {
        Outcome::Cancelled => Rendered::Nothing,
        Outcome::Unreachable(e) => {
            let msg = format!("Failed to connect to the host via ssh: {}", e.reason());
            if one_line {
                Rendered::Unreachable(format!("{host} | UNREACHABLE!: {msg}\n"))
            } else {
                let v = json!({"changed": false, "msg": msg, "unreachable": true});
                Rendered::Unreachable(format!("{host} | UNREACHABLE! => {}\n", python_json(&v)))
            }
        }
        Outcome::Failed(msg) => {
            let v = json!({"changed": false, "msg": msg});
            let body = if one_line {
                serde_json::to_string(&v).unwrap_or_default()
            } else {
                python_json(&v)
            };
            Rendered::Failed(format!("{host} | FAILED! => {body}\n"))
        }
        Outcome::Ran { command, output } => {
            let strip = |b: &[u8]| {
                let t = text(b);
                if module == AdhocModule::Raw {
                    t
                } else {
                    t.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let (stdout, stderr) = (strip(&output.stdout), strip(&output.stderr));
            let rc = output.status.rc();
            let ok = rc == 0;
            let caption = if ok { "CHANGED" } else { "FAILED" };
            let msg = match (&output.status, ok) {
                (_, true) => String::new(),
                (horde::ssh::ExitStatus::Signal(s), _) => format!("killed by signal {s}"),
                _ => "non-zero return code".to_string(),
            };
            let body = if one_line {
                let esc = |s: &str| s.replace('\n', "\\n").replace('\r', "\\r");
                let mut line = format!("{host} | {caption} | rc={rc} | (stdout) {}", esc(&stdout));
                if !stderr.is_empty() {
                    line.push_str(&format!(" (stderr) {}", esc(&stderr)));
                }
                line.push('\n');
                if !ok {
                    let v = json!({
                        "changed": true, "cmd": command, "msg": msg, "rc": rc,
                        "stderr": stderr, "stderr_lines": lines(&stderr),
                        "stdout": stdout, "stdout_lines": lines(&stdout),
                        "delta": format!("{:.6}s", output.duration.as_secs_f64()),
                    });
                    line.push_str(&format!(
                        "{host} | FAILED! => {}\n",
                        serde_json::to_string(&v).unwrap_or_default()
                    ));
                }
                line
            } else {
                format!("{host} | {caption} | rc={rc} >>\n{stdout}{stderr}{msg}\n")
            };
            if ok {
                Rendered::Ok(body)
            } else {
                Rendered::Failed(body)
            }
        }
    }
}

fn lines(s: &str) -> Value {
    Value::Array(s.lines().map(|l| Value::String(l.to_string())).collect())
}
