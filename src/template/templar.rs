//! [`Templar`]: renders playbook values, conditions and template files with one shared
//! minijinja environment. Compiled templates are cached by source (the environment's loader
//! takes the source text as the template name), and so is the list of variables each one
//! reads, so a render converts only those variables to minijinja values.
//!
//! Choices, following ansible-core 2.19:
//! - Undefined variables are errors ("'x' is undefined"), except under `is defined`,
//!   `is undefined` and `| default`, where an attribute chain on an undefined value is
//!   undefined too (see [`super::rewrite`]).
//! - A string that is exactly one `{{ expr }}` (no surrounding text, not even whitespace:
//!   Ansible renders `" {{ 1 }} "` as the string `" 1 "`) keeps the expression's type.
//!   Jinja drops one trailing line break first, so `"{{ n }}\n"` gives the int `n`, while a
//!   string result gets its newline back.
//! - Conditions must give a bool: a string, int, list or none result is an error
//!   ("Conditional result (True) was derived from value of type 'str'..."), as Ansible 2.19
//!   does by default. A condition wholly in `{{ }}` is templated first; a string result is
//!   then evaluated as the expression, a bool result is used as it is.
//! - Variables whose strings hold Jinja are templated when a template reads them (Ansible's
//!   lazy templating), up to [`MAX_DEPTH`] levels deep, so `a: "{{ b }}"` works.
//! - Backslashes in string literals inside `{{ }}` are doubled in playbook strings (not in
//!   conditions or template files): `regex_replace('(\d+)', '\1')` written in YAML means
//!   what it says.

use super::rewrite::{self, BlockKind};
use super::{filters, lookups, methods, predicates};
use crate::vars::Vars;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// The value of the `omit` variable: a module argument equal to it is dropped.
pub const OMIT: &str = "__omit_place_holder__horde__";

/// How deep variables that hold templates may refer to each other.
pub const MAX_DEPTH: usize = 16;

const RESULT_VAR: &str = "__horde_value";

/// A template that would not parse or render: names the variable or filter and the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
}

impl TemplateError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        TemplateError {
            message: message.into(),
        }
    }
}

/// What a cached template is; the first character of its name in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A playbook string: backslashes in `{{ }}` strings are escaped.
    Text = b'T' as isize,
    /// A template file.
    File = b'F' as isize,
    /// A lone `{{ expr }}` from a playbook string, evaluated to a value.
    Expr = b'E' as isize,
    /// A condition, evaluated to a value.
    Cond = b'C' as isize,
}

fn key(kind: Kind, source: &str) -> String {
    let mut name = String::with_capacity(source.len() + 1);
    name.push(kind as u8 as char);
    name.push_str(source);
    name
}

fn load(name: &str) -> Result<Option<String>, Error> {
    let Some(kind) = name.chars().next() else {
        return Ok(None);
    };
    let source = &name[kind.len_utf8()..];
    Ok(Some(match kind {
        'T' => rewrite::template(source, true),
        'F' => rewrite::template(source, false),
        'E' | 'C' => format!(
            "{{%- set {RESULT_VAR} = ({}\n) -%}}",
            rewrite::expression(source, kind == 'E')
        ),
        _ => return Ok(None),
    }))
}

/// The template engine, built once per run and shared by every host.
pub struct Templar {
    env: Environment<'static>,
    /// The variables each cached template reads, by template name.
    reads: RwLock<HashMap<String, Arc<[String]>>>,
    lazy_vars: bool,
}

impl Default for Templar {
    fn default() -> Self {
        Self::new()
    }
}

impl Templar {
    /// An engine with Ansible's filters, tests, lookups and `omit`.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_loader(load);
        env.set_unknown_method_callback(methods::call);
        env.add_global("omit", OMIT);
        filters::register(&mut env);
        predicates::register(&mut env);
        lookups::register(&mut env);
        Templar {
            env,
            reads: RwLock::new(HashMap::new()),
            lazy_vars: true,
        }
    }

    /// Turns off the templating of variables whose values hold Jinja (on by default).
    pub fn set_lazy_vars(&mut self, on: bool) {
        self.lazy_vars = on;
    }

    /// Renders a value: strings with Jinja syntax are templated, lists and maps
    /// recursively; a string that is exactly one `{{ expr }}` keeps the expression's type.
    pub fn render(&self, value: &Value, vars: &Vars) -> Result<Value, TemplateError> {
        self.render_at(value, vars, 0)
    }

    /// A condition (`when`, `failed_when`, `changed_when`, `until`, `assert.that`): a bare
    /// Jinja expression (with or without `{{ }}`), a bool, or a list of them (all must hold).
    pub fn condition(&self, cond: &Value, vars: &Vars) -> Result<bool, TemplateError> {
        match cond {
            Value::Bool(b) => Ok(*b),
            Value::Array(items) => {
                for item in items {
                    if !self.condition(item, vars)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Value::String(s) => self.condition_str(s.trim(), vars),
            Value::Null => Err(TemplateError::new(
                "Empty conditional expressions are not allowed.",
            )),
            other => Err(TemplateError::new(format!(
                "Conditional expressions must be strings, got {} ({other}).",
                crate::vars::python_type_name(other)
            ))),
        }
    }

    /// Renders a whole template file (the `template` module), keeping its trailing
    /// newlines as Ansible does. `name` is used in error messages.
    pub fn render_file(
        &self,
        source: &str,
        name: &str,
        vars: &Vars,
    ) -> Result<String, TemplateError> {
        self.render_text(Kind::File, source, vars, 0)
            .map_err(|e| TemplateError::new(format!("{name}: {}", e.message)))
    }

    fn render_at(&self, value: &Value, vars: &Vars, depth: usize) -> Result<Value, TemplateError> {
        match value {
            Value::String(s) => self.render_str(s, vars, depth),
            Value::Array(items) => items
                .iter()
                .map(|v| self.render_at(v, vars, depth))
                .collect(),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let k = if rewrite::has_jinja(k) {
                        match self.render_str(k, vars, depth)? {
                            Value::String(s) => s,
                            other => crate::vars::key_string(&other),
                        }
                    } else {
                        k.clone()
                    };
                    out.insert(k, self.render_at(v, vars, depth)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn render_str(&self, s: &str, vars: &Vars, depth: usize) -> Result<Value, TemplateError> {
        if !rewrite::has_jinja(s) {
            return Ok(Value::String(s.to_string()));
        }
        // Jinja drops one trailing line break of the source, so `"{{ n }}\n"` is a lone
        // expression too: an int stays an int (its newline is lost), a string gets the
        // newline back.
        let body = ["\r\n", "\n", "\r"]
            .iter()
            .find_map(|nl| s.strip_suffix(nl))
            .unwrap_or(s);
        if let Some(expr) = lone_expression(body) {
            let value = self.eval(Kind::Expr, expr, s, vars, depth)?;
            return match value {
                Some(Value::String(mut text)) => {
                    let have = trailing_newlines(&text);
                    for _ in have..trailing_newlines(s) {
                        text.push('\n');
                    }
                    Ok(Value::String(text))
                }
                Some(v) => Ok(v),
                // Undefined: render it as text for minijinja's error naming the variable.
                None => self
                    .render_text(Kind::Text, s, vars, depth)
                    .and_then(|_| Err(undefined(s))),
            };
        }
        self.render_text(Kind::Text, s, vars, depth)
            .map(Value::String)
    }

    fn condition_str(&self, s: &str, vars: &Vars) -> Result<bool, TemplateError> {
        if s.is_empty() {
            return Err(TemplateError::new(
                "Empty conditional expressions are not allowed.",
            ));
        }
        let rendered;
        let mut expr = s;
        if (s.starts_with("{{") || s.starts_with("{%")) && (s.ends_with("}}") || s.ends_with("%}"))
        {
            match self.render_str(s, vars, 0)? {
                Value::String(e) => {
                    rendered = e;
                    expr = rendered.trim();
                    if expr.is_empty() {
                        return Err(TemplateError::new(
                            "Empty conditional expressions are not allowed.",
                        ));
                    }
                }
                other => return conditional_result(other, s),
            }
        }
        match self.eval(Kind::Cond, expr, expr, vars, 0)? {
            Some(v) => conditional_result(v, expr),
            None => {
                let wrapped = format!("{{{{ {expr} }}}}");
                self.render_text(Kind::File, &wrapped, vars, 0)
                    .and_then(|_| Err(undefined(expr)))
            }
        }
    }

    /// Evaluates an expression; `None` if it is undefined. Errors show `shown`.
    fn eval(
        &self,
        kind: Kind,
        expr: &str,
        shown: &str,
        vars: &Vars,
        depth: usize,
    ) -> Result<Option<Value>, TemplateError> {
        let name = key(kind, expr);
        let fail = |e: Error| error(&e, shown);
        let tmpl = self.env.get_template(&name).map_err(fail)?;
        let ctx = self.context(&name, vars, depth)?;
        let captured = tmpl.render_captured(ctx).map_err(fail)?;
        match captured.state().lookup(RESULT_VAR) {
            Some(v) if !v.is_undefined() => serde_json::to_value(&v)
                .map(Some)
                .map_err(|e| TemplateError::new(format!("{e} (in \"{shown}\")"))),
            _ => Ok(None),
        }
    }

    fn render_text(
        &self,
        kind: Kind,
        source: &str,
        vars: &Vars,
        depth: usize,
    ) -> Result<String, TemplateError> {
        let name = key(kind, source);
        let fail = |e: Error| match kind {
            Kind::File => {
                TemplateError::new(format!("line {}: {}", e.line().unwrap_or(0), describe(&e)))
            }
            _ => error(&e, source),
        };
        let tmpl = self.env.get_template(&name).map_err(fail)?;
        let ctx = self.context(&name, vars, depth)?;
        let mut out = tmpl.render(ctx).map_err(fail)?;
        // Jinja drops one trailing newline of the source; Ansible puts back as many as the
        // source had beyond those the output kept.
        let want = trailing_newlines(source);
        let have = trailing_newlines(&out);
        for _ in have..want {
            out.push('\n');
        }
        Ok(out)
    }

    /// The render context: only the variables the template reads.
    fn context(
        &self,
        name: &str,
        vars: &Vars,
        depth: usize,
    ) -> Result<minijinja::Value, TemplateError> {
        let cached = self.reads.read().ok().and_then(|m| m.get(name).cloned());
        let reads = match cached {
            Some(r) => r,
            None => {
                // minijinja's `undeclared_variables` misses names under a slice (`s[0:5]`).
                let code = matches!(name.as_bytes().first(), Some(b'E' | b'C'));
                let r: Arc<[String]> = rewrite::names(&name[1..], code).into();
                if let Ok(mut m) = self.reads.write() {
                    m.insert(name.to_string(), r.clone());
                }
                r
            }
        };
        let mut ctx = BTreeMap::new();
        for var in reads.iter() {
            if let Some(v) = vars.get(var) {
                let v = if self.lazy_vars && holds_template(v) {
                    if depth >= MAX_DEPTH {
                        return Err(TemplateError::new(format!(
                            "recursive loop detected in template: variable '{var}' refers to itself"
                        )));
                    }
                    minijinja::Value::from(Serde(&self.render_at(v, vars, depth + 1)?))
                } else {
                    minijinja::Value::from(Serde(v))
                };
                ctx.insert(var.clone(), v);
            } else if var == "vars" {
                ctx.insert(var.clone(), minijinja::Value::from(Serde(vars)));
            }
        }
        Ok(minijinja::Value::from(ctx))
    }
}

/// The inside of a string that is exactly one `{{ }}` block.
fn lone_expression(s: &str) -> Option<&str> {
    let blocks = rewrite::blocks(s);
    match blocks.as_slice() {
        [b] if b.kind == BlockKind::Expr
            && b.start == 0
            && b.end == s.len()
            && s.ends_with("}}") =>
        {
            let inner = &s[2..s.len() - 2];
            Some(
                inner
                    .trim_start_matches(['-', '+'])
                    .trim_end_matches(['-', '+']),
            )
        }
        _ => None,
    }
}

fn holds_template(v: &Value) -> bool {
    match v {
        Value::String(s) => rewrite::has_jinja(s),
        Value::Array(items) => items.iter().any(holds_template),
        Value::Object(map) => map.values().any(holds_template),
        _ => false,
    }
}

fn trailing_newlines(s: &str) -> usize {
    s.bytes().rev().take_while(|&b| b == b'\n').count()
}

fn conditional_result(v: Value, expr: &str) -> Result<bool, TemplateError> {
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(TemplateError::new(format!(
            "Conditional result ({}) was derived from value of type '{}' (in \"{expr}\"). \
             Conditionals must have a boolean result.",
            if truthy(&other) { "True" } else { "False" },
            crate::vars::python_type_name(&other)
        ))),
    }
}

/// Python's truth value of a JSON value.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

fn undefined(source: &str) -> TemplateError {
    TemplateError::new(format!("undefined value (in \"{source}\")"))
}

/// A minijinja error as one line: what went wrong, without minijinja's template name
/// (which is the cache key).
fn describe(e: &Error) -> String {
    let mut msg = match (e.kind(), e.detail()) {
        (ErrorKind::UndefinedError, Some(d)) => d.replace('`', "'"),
        (kind, Some(d)) => format!("{kind}: {}", d.replace('`', "'")),
        (kind, None) => kind.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn error(e: &Error, source: &str) -> TemplateError {
    TemplateError::new(format!("{} (in \"{source}\")", describe(e)))
}
