//! Reporters: everything here consumes the engine's [`crate::engine::Event`]s only.
//! `stats` computes the statistics (per task and per play, over hosts and iterations);
//! `record` rebuilds a run from its events; `results` writes and reads the results
//! directory (with `summary` and `junit`); `recap`, `csv` and `diff` are `horde report`'s.

pub mod csv;
pub mod diff;
pub mod junit;
pub mod recap;
pub mod record;
pub mod results;
pub mod stats;
pub mod summary;
