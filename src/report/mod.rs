//! Reporters: everything here consumes the engine's [`crate::engine::Event`]s only.
//! `stats` computes the statistics (per task and per play, over hosts and iterations).

pub mod stats;
