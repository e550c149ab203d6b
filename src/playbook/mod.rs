//! Playbooks: YAML files turned into a validated plan ([`Playbook`]) with file:line:column
//! in every error.

mod kv;
mod load;
mod model;

pub use kv::{parse_kv, split_args};
pub use load::{PlaybookError, load, load_task_file, near_miss};
pub use model::{
    Action, Common, EventEntry, Events, Expect, Loop, LoopKind, Matrix, Play, Playbook, Strategy,
    Task, duration_of, parse_duration,
};
