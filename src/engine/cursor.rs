//! Where one host is in a play's task tree: [`Cursor`] walks blocks, rescue and always as
//! Ansible's play iterator does (a failure goes to the nearest rescue, always runs on every
//! path, an unrescued failure ends the host's play).

use crate::playbook::{Action, Common, Task};
use std::sync::Arc;

/// The part of a block being walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Root,
    Block,
    Rescue,
    Always,
}

#[derive(Debug, Clone)]
struct Frame {
    list: Arc<Vec<Task>>,
    index: usize,
    phase: Phase,
    rescue: Arc<Vec<Task>>,
    always: Arc<Vec<Task>>,
    /// The inherited properties for the tasks of this frame.
    scope: Arc<Common>,
    /// In `always` after a failure nobody rescued: the failure goes on afterwards.
    failing: bool,
    /// Whether leaving this frame moves its parent on (not for included lists: the include
    /// already did).
    advances_parent: bool,
}

/// The next task of a host: the task, its inherited scope, and the phase it runs in.
#[derive(Debug, Clone)]
pub struct Next {
    pub list: Arc<Vec<Task>>,
    pub index: usize,
    pub scope: Arc<Common>,
    pub phase: Phase,
}

impl Next {
    pub fn task(&self) -> &Task {
        &self.list[self.index]
    }

    /// Identifies the task (the same task for every host that reached it).
    pub fn key(&self) -> (usize, usize) {
        (Arc::as_ptr(&self.list) as usize, self.index)
    }
}

/// What a failure did to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A rescue section takes over: the host is not failed.
    Rescued,
    /// An always section runs first; the failure goes on after it.
    Deferred,
    /// Nothing catches it: the host is done with this play.
    Fatal,
}

/// One host's position in the play.
#[derive(Debug, Clone)]
pub struct Cursor {
    stack: Vec<Frame>,
}

impl Cursor {
    pub fn new(tasks: Arc<Vec<Task>>, scope: Arc<Common>) -> Self {
        Cursor {
            stack: vec![Frame {
                list: tasks,
                index: 0,
                phase: Phase::Root,
                rescue: Arc::default(),
                always: Arc::default(),
                scope,
                failing: false,
                advances_parent: true,
            }],
        }
    }

    /// The next module task (entering blocks, leaving finished ones), or `None` at the end.
    /// A failure carried out of an `always` is applied here; `Fatal` ends the walk.
    pub fn next(&mut self) -> Option<Next> {
        loop {
            let top = self.stack.last_mut()?;
            if top.index < top.list.len() {
                let task = &top.list[top.index];
                if let Action::Block {
                    block,
                    rescue,
                    always,
                } = &task.action
                {
                    let scope = Arc::new(task.common.inherit(&top.scope));
                    let frame = Frame {
                        list: block.clone(),
                        index: 0,
                        phase: Phase::Block,
                        rescue: rescue.clone(),
                        always: always.clone(),
                        scope,
                        failing: false,
                        advances_parent: true,
                    };
                    self.stack.push(frame);
                    continue;
                }
                return Some(Next {
                    list: top.list.clone(),
                    index: top.index,
                    scope: top.scope.clone(),
                    phase: top.phase,
                });
            }
            // The list is done.
            match top.phase {
                Phase::Root => {
                    self.stack.clear();
                    return None;
                }
                Phase::Block | Phase::Rescue if !top.always.is_empty() => {
                    top.phase = Phase::Always;
                    top.list = top.always.clone();
                    top.index = 0;
                }
                Phase::Always if top.failing => {
                    self.stack.pop();
                    if self.fail() == Failure::Fatal {
                        return None;
                    }
                }
                _ => {
                    let done = self.stack.pop();
                    if let Some(parent) = self.stack.last_mut()
                        && done.is_some_and(|f| f.advances_parent)
                    {
                        parent.index += 1;
                    }
                }
            }
        }
    }

    /// The current task finished (ok, changed, skipped or ignored).
    pub fn advance(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            top.index += 1;
        }
    }

    /// The current task failed: go to the nearest rescue or always.
    pub fn fail(&mut self) -> Failure {
        while let Some(top) = self.stack.last_mut() {
            match top.phase {
                Phase::Block if !top.rescue.is_empty() => {
                    top.phase = Phase::Rescue;
                    top.list = top.rescue.clone();
                    top.index = 0;
                    return Failure::Rescued;
                }
                Phase::Block | Phase::Rescue if !top.always.is_empty() => {
                    top.phase = Phase::Always;
                    top.list = top.always.clone();
                    top.index = 0;
                    top.failing = true;
                    return Failure::Deferred;
                }
                Phase::Root => {
                    self.stack.clear();
                    return Failure::Fatal;
                }
                _ => {
                    self.stack.pop();
                }
            }
        }
        Failure::Fatal
    }

    /// Ends the host's play now (unreachable, any_errors_fatal, end_host).
    pub fn stop(&mut self) {
        self.stack.clear();
    }

    /// Inserts dynamically included task lists to run next, in order, each in its own
    /// scope; the include itself is done.
    pub fn include(&mut self, lists: Vec<(Vec<Task>, Arc<Common>)>) {
        if let Some(top) = self.stack.last_mut() {
            top.index += 1;
        }
        for (tasks, scope) in lists.into_iter().rev() {
            self.stack.push(Frame {
                list: Arc::new(tasks),
                index: 0,
                phase: Phase::Block,
                rescue: Arc::default(),
                always: Arc::default(),
                scope,
                failing: false,
                advances_parent: false,
            });
        }
    }

    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.stack.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::load;

    fn names(cursor: &mut Cursor, fail_on: &[&str]) -> Vec<String> {
        let mut out = vec![];
        while let Some(n) = cursor.next() {
            let name = n.task().display_name();
            out.push(name.clone());
            if fail_on.contains(&name.as_str()) {
                cursor.fail();
            } else {
                cursor.advance();
            }
        }
        out
    }

    fn play(text: &str) -> Arc<Vec<Task>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pb.yml");
        std::fs::write(&p, text).unwrap();
        Arc::new(load(&p).unwrap().plays[0].tasks.clone())
    }

    const PB: &str = "- hosts: all\n  tasks:\n    - name: a\n      debug: {}\n    - block:\n        - {name: b, debug: {}}\n        - {name: c, debug: {}}\n      rescue:\n        - {name: r, debug: {}}\n      always:\n        - {name: w, debug: {}}\n    - {name: z, debug: {}}\n";

    #[test]
    fn blocks_rescue_and_always() {
        let tasks = play(PB);
        let mut c = Cursor::new(tasks.clone(), Arc::default());
        assert_eq!(names(&mut c, &[]), ["a", "b", "c", "w", "z"]);
        let mut c = Cursor::new(tasks.clone(), Arc::default());
        assert_eq!(names(&mut c, &["b"]), ["a", "b", "r", "w", "z"]);
        // A failing rescue: always runs, then the host is done.
        let mut c = Cursor::new(tasks, Arc::default());
        assert_eq!(names(&mut c, &["b", "r"]), ["a", "b", "r", "w"]);
        assert!(c.is_done());
    }
}
