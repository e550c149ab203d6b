//! Typing a become password only when it is asked for, as Ansible does: [`PasswordPrompt`]
//! says what the asking looks like, [`Answering`] watches a command's output for it.
//!
//! sudo and su read nothing when they do not need a password (`NOPASSWD`, su run by root),
//! so a password sent up front would become the first line of the command's own input. The
//! command therefore prints a ready line (with a nonce) as its first act as the other user;
//! until then horde answers the prompt once, and sends the command's input only after it.

use memchr::memmem;

/// How a wrapped command asks for its password and says that it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPrompt {
    /// What sudo or su prints when it wants the password (on stderr or stdout).
    pub prompt: String,
    /// The line (without its newline) the command prints first once it runs.
    pub ready: String,
    pub password: String,
}

/// What to do after a read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Wait,
    /// Send these bytes (the password line).
    Type(Vec<u8>),
    /// The command runs: send its input (and the end of input).
    Ready,
    /// A second prompt: the password was wrong. End the input so that sudo gives up.
    Refused,
}

/// Watches one command's output for the prompt and the ready line.
#[derive(Debug)]
pub(crate) struct Answering<'a> {
    p: &'a PasswordPrompt,
    typed: bool,
    /// Where the ready line ended in stdout, and how much stderr had come by then.
    ready_at: Option<(usize, usize)>,
    refused: bool,
}

impl<'a> Answering<'a> {
    pub(crate) fn new(p: &'a PasswordPrompt) -> Answering<'a> {
        Answering {
            p,
            typed: false,
            ready_at: None,
            refused: false,
        }
    }

    /// Whether horde still waits for the ready line.
    pub(crate) fn waiting(&self) -> bool {
        self.ready_at.is_none() && !self.refused
    }

    /// Looks at all the output so far (call after each read while [`Answering::waiting`]).
    pub(crate) fn step(&mut self, stdout: &[u8], stderr: &[u8]) -> Step {
        if !self.waiting() {
            return Step::Wait;
        }
        let ready = format!("{}\n", self.p.ready);
        if let Some(at) = memmem::find(stdout, ready.as_bytes()) {
            self.ready_at = Some((at + ready.len(), stderr.len()));
            return Step::Ready;
        }
        let prompt = self.p.prompt.as_bytes();
        let asked = count(stderr, prompt) + count(stdout, prompt);
        match (asked, self.typed) {
            (0, _) | (1, true) => Step::Wait,
            (_, false) => {
                self.typed = true;
                Step::Type(format!("{}\n", self.p.password).into_bytes())
            }
            (_, true) => {
                self.refused = true;
                Step::Refused
            }
        }
    }

    /// Takes sudo's and su's part out of the output: stdout up to the ready line, the
    /// prompts on stderr before it. The command's own output is left as it printed it.
    pub(crate) fn strip(&self, stdout: &mut Vec<u8>, stderr: &mut Vec<u8>) {
        let prompt = self.p.prompt.as_bytes();
        let stderr_end = match self.ready_at {
            Some((out_at, err_at)) => {
                stdout.drain(..out_at.min(stdout.len()));
                err_at.min(stderr.len())
            }
            None => {
                remove_all(stdout, prompt, stdout.len());
                stderr.len()
            }
        };
        remove_all(stderr, prompt, stderr_end);
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    memmem::find_iter(hay, needle).count()
}

/// Removes every `needle` that ends before `end`.
fn remove_all(bytes: &mut Vec<u8>, needle: &[u8], end: usize) {
    let mut end = end;
    while let Some(p) = memmem::find(&bytes[..end], needle) {
        bytes.drain(p..p + needle.len());
        end -= needle.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt() -> PasswordPrompt {
        PasswordPrompt {
            prompt: "[sudo key=ab] password:".into(),
            ready: "__READY_ab".into(),
            password: "pw".into(),
        }
    }

    #[test]
    fn the_password_is_typed_only_when_asked() {
        let p = prompt();
        // NOPASSWD: the ready line comes first, nothing is typed.
        let mut a = Answering::new(&p);
        assert_eq!(a.step(b"", b""), Step::Wait);
        assert_eq!(a.step(b"__READY_ab\nout", b""), Step::Ready);
        assert!(!a.waiting());
        let (mut out, mut err) = (b"__READY_ab\nPassword: out".to_vec(), b"e".to_vec());
        a.strip(&mut out, &mut err);
        assert_eq!((out, err), (b"Password: out".to_vec(), b"e".to_vec()));
        // Asked once: typed once, then ready.
        let mut a = Answering::new(&p);
        assert_eq!(a.step(b"", b"[sudo key=ab] pass"), Step::Wait);
        assert_eq!(
            a.step(b"", b"[sudo key=ab] password:"),
            Step::Type(b"pw\n".to_vec())
        );
        assert_eq!(a.step(b"", b"[sudo key=ab] password:"), Step::Wait);
        assert_eq!(
            a.step(b"__READY_ab\n", b"[sudo key=ab] password:"),
            Step::Ready
        );
        let mut out = b"__READY_ab\nhi\n".to_vec();
        let mut err = b"[sudo key=ab] password:x [sudo key=ab] password:".to_vec();
        a.strip(&mut out, &mut err);
        assert_eq!(out, b"hi\n");
        // Only the prompt before the ready line goes.
        assert_eq!(err, b"x [sudo key=ab] password:");
        // Asked again: the password was wrong.
        let mut a = Answering::new(&p);
        assert!(matches!(
            a.step(b"", b"[sudo key=ab] password:"),
            Step::Type(_)
        ));
        let err = b"[sudo key=ab] password:Sorry, try again.\n[sudo key=ab] password:";
        assert_eq!(a.step(b"", err), Step::Refused);
        let (mut out, mut err) = (Vec::new(), err.to_vec());
        a.strip(&mut out, &mut err);
        assert_eq!(err, b"Sorry, try again.\n");
    }
}
