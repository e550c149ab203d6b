//! Where the console's lines go and how they look: [`Output`] prints lines to stdout (in
//! Ansible's colors when color is on) around the live [`Progress`] display on stderr.

use super::args::{ColorChoice, OutputArgs};
use super::progress::Progress;
use horde::engine::TaskKind;
use std::io::{IsTerminal, Write};

/// Ansible's default colors (`COLOR_OK`, `COLOR_CHANGED`, ... in ansible.cfg).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// green
    Ok,
    /// yellow
    Changed,
    /// cyan
    Skip,
    /// red
    Error,
    /// bright red
    Unreachable,
    /// bright purple
    Warn,
    /// dark gray
    Debug,
}

impl Color {
    /// The ANSI code Ansible uses (`ansible.utils.color.codeCodes`).
    fn code(self) -> &'static str {
        match self {
            Color::Ok => "0;32",
            Color::Changed => "0;33",
            Color::Skip => "0;36",
            Color::Error => "0;31",
            Color::Unreachable => "1;31",
            Color::Warn => "1;35",
            Color::Debug => "1;30",
        }
    }
}

/// What a task's banner calls it: `TASK`, `RUNNING HANDLER` ...
pub fn task_word(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Task => "TASK",
        TaskKind::Handler => "RUNNING HANDLER",
        TaskKind::Setup => "SETUP",
        TaskKind::Teardown => "TEARDOWN",
        TaskKind::Event => "EVENT",
    }
}

/// Colors text, or leaves it as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    pub on: bool,
}

impl Paint {
    /// Whether to color a stream: `--color always`/`never`, or with `auto` when the stream is
    /// a terminal and `NO_COLOR` is unset or empty (the flag wins over `NO_COLOR`).
    pub fn resolve(choice: ColorChoice, terminal: bool, no_color: Option<&str>) -> Paint {
        let on = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(str::is_empty),
        };
        Paint { on }
    }

    /// For standard output, from the flag and the environment.
    pub fn for_stdout(choice: ColorChoice) -> Paint {
        let no_color = std::env::var("NO_COLOR").ok();
        Paint::resolve(choice, std::io::stdout().is_terminal(), no_color.as_deref())
    }

    /// `text` in `color`, each line apart, as Ansible's `stringc` does.
    pub fn paint(self, text: &str, color: Color) -> String {
        if !self.on {
            return text.to_string();
        }
        text.split('\n')
            .map(|l| format!("\x1b[{}m{l}\x1b[0m", color.code()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `text` in `color` if `count` is not 0 (the recap's `ok=3   ` columns).
    pub fn count(self, text: &str, count: u32, color: Color) -> String {
        if count == 0 {
            text.to_string()
        } else {
            self.paint(text, color)
        }
    }
}

/// The console's output settings, resolved once, and the progress display if it is on.
pub struct Output {
    pub paint: Paint,
    /// `-q`: warnings, errors and the recap only.
    pub quiet: bool,
    progress: Option<Progress>,
}

impl Output {
    /// Plain lines, or with the live display on stderr when `live` and stderr is a terminal
    /// (never with `-q`, nor with `TERM=dumb`).
    pub fn new(args: &OutputArgs, live: bool) -> Output {
        let paint = Paint::for_stdout(args.color);
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let progress =
            (live && !args.quiet && !dumb && std::io::stderr().is_terminal()).then(|| {
                let no_color = std::env::var("NO_COLOR").ok();
                Progress::start(Paint::resolve(args.color, true, no_color.as_deref()))
            });
        Output {
            paint,
            quiet: args.quiet,
            progress,
        }
    }

    pub fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    /// Prints a line (or lines) on stdout, in `color` when given, above the progress display.
    pub fn line(&self, text: &str, color: Option<Color>) {
        let text = match color {
            Some(c) => self.paint.paint(text, c),
            None => text.to_string(),
        };
        self.suspended(|| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        });
    }

    /// `[WARNING]: message` on stderr, as Ansible prints it.
    pub fn warn(&self, message: &str) {
        let text = self
            .paint
            .paint(&format!("[WARNING]: {message}"), Color::Warn);
        self.suspended(|| eprintln!("{text}"));
    }

    /// Runs `f` with the progress display cleared, so lines and display do not mix.
    fn suspended(&self, f: impl FnOnce()) {
        match &self.progress {
            Some(p) => p.suspend(f),
            None => f(),
        }
    }

    /// Clears the progress display for good (before the recap).
    pub fn finish_progress(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colors_a_terminal_unless_no_color_is_set_and_not_empty() {
        let auto = |terminal, no_color| Paint::resolve(ColorChoice::Auto, terminal, no_color).on;
        assert!(auto(true, None));
        assert!(auto(true, Some("")));
        assert!(!auto(true, Some("1")));
        assert!(!auto(false, None));
    }

    #[test]
    fn the_flag_wins_over_the_terminal_and_no_color() {
        assert!(Paint::resolve(ColorChoice::Always, false, Some("1")).on);
        assert!(!Paint::resolve(ColorChoice::Never, true, None).on);
    }

    #[test]
    fn each_line_is_colored_apart_as_ansible_does() {
        let p = Paint { on: true };
        assert_eq!(
            p.paint("ok: [a] => {\n}", Color::Ok),
            "\x1b[0;32mok: [a] => {\x1b[0m\n\x1b[0;32m}\x1b[0m"
        );
        assert_eq!(Paint { on: false }.paint("x", Color::Error), "x");
        assert_eq!(p.count("ok=0   ", 0, Color::Ok), "ok=0   ");
    }
}
