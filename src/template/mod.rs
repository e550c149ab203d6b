//! The template engine: Jinja2 through minijinja, with Ansible's filters and tests and its
//! rules for native types (a value that is exactly one `{{ expression }}` keeps its type).
//! [`Templar`] is the entry point; its module doc lists the Ansible behaviours it follows.

mod collections;
#[cfg(test)]
mod filter_tests;
mod filters;
mod formats;
mod jinja;
mod lookups;
mod methods;
mod predicates;
mod pyrandom;
mod rewrite;
mod templar;
#[cfg(test)]
mod tests;
mod urls;

pub use templar::{MAX_DEPTH, OMIT, Templar, TemplateError};
