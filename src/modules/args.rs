//! A module's templated arguments with typed getters that convert as Ansible does
//! (`'yes'` is a bool, `'8080'` an int) and fail with a message naming the argument.

use crate::vars::Vars;
use serde_json::Value;

/// An argument of the wrong type or a missing required one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

/// The arguments of one module call, after templating.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub module: String,
    pub map: Vars,
}

impl Args {
    pub fn new(module: &str, map: Vars) -> Self {
        Args {
            module: module.to_string(),
            map,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn wrong(&self, name: &str, expected: &str, v: &Value) -> ArgError {
        ArgError(format!(
            "argument '{name}' of module {} is of type {} and we were unable to convert to {expected}: {}",
            self.module,
            crate::vars::python_type_name(v),
            v
        ))
    }

    /// A string argument (numbers and bools are converted, as Ansible does).
    pub fn str(&self, name: &str) -> Result<Option<String>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(if *b { "True" } else { "False" }.to_string())),
            Some(v) => Err(self.wrong(name, "str", v)),
        }
    }

    /// A required string argument.
    pub fn req_str(&self, name: &str) -> Result<String, ArgError> {
        self.str(name)?.ok_or_else(|| {
            ArgError(format!(
                "missing required arguments: {name} (module {})",
                self.module
            ))
        })
    }

    /// A boolean argument: true/false, yes/no, on/off, 1/0 (Ansible's boolean()).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => to_bool(v)
                .map(Some)
                .ok_or_else(|| self.wrong(name, "bool", v)),
        }
    }

    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ArgError> {
        Ok(self.bool(name)?.unwrap_or(default))
    }

    /// An integer argument (strings of digits are converted).
    pub fn int(&self, name: &str) -> Result<Option<i64>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Ok(n.as_f64().map(|f| f as i64))
            }
            Some(v @ Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.wrong(name, "int", v)),
            Some(v) => Err(self.wrong(name, "int", v)),
        }
    }

    /// A number argument (float).
    pub fn float(&self, name: &str) -> Result<Option<f64>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(v @ Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.wrong(name, "float", v)),
            Some(v) => Err(self.wrong(name, "float", v)),
        }
    }

    /// A list argument: a list, or a comma-separated string (as Ansible converts).
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    Value::Bool(b) => Ok(b.to_string()),
                    other => Err(self.wrong(name, "list of str", other)),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            )),
            Some(Value::Number(n)) => Ok(Some(vec![n.to_string()])),
            Some(v) => Err(self.wrong(name, "list", v)),
        }
    }

    /// A dict argument.
    pub fn dict(&self, name: &str) -> Result<Option<Vars>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(v) => Err(self.wrong(name, "dict", v)),
        }
    }

    /// A file mode: an int is taken as the mode itself (YAML `0644` is 420), a string of
    /// octal digits is octal (`'0644'`, `'644'`), and a symbolic mode (`u+rwx,g-w`) is kept
    /// as text for `chmod`. Returns the argument `chmod` takes.
    pub fn mode(&self, name: &str) -> Result<Option<String>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64().map(|m| format!("{m:04o}"))),
            Some(Value::String(s)) => {
                let s = s.trim();
                if !s.is_empty() && s.chars().all(|c| c.is_digit(8)) {
                    let m = u32::from_str_radix(s, 8)
                        .map_err(|_| ArgError(format!("argument '{name}': bad mode {s:?}")))?;
                    Ok(Some(format!("{m:04o}")))
                } else if !s.is_empty()
                    && s.chars().all(|c| "ugoarwxXstST+-=,0123456789".contains(c))
                {
                    Ok(Some(s.to_string()))
                } else {
                    Err(ArgError(format!(
                        "argument '{name}' of module {}: {s:?} is not a valid mode (octal like '0644' or symbolic like 'u+rw,g-w')",
                        self.module
                    )))
                }
            }
            Some(v) => Err(self.wrong(name, "mode", v)),
        }
    }

    /// One of a fixed set of choices.
    pub fn choice(
        &self,
        name: &str,
        choices: &[&str],
        default: Option<&str>,
    ) -> Result<Option<String>, ArgError> {
        match self.str(name)? {
            None => Ok(default.map(str::to_string)),
            Some(s) if choices.contains(&s.as_str()) => Ok(Some(s)),
            Some(s) => Err(ArgError(format!(
                "value of {name} must be one of: {}, got: {s}",
                choices.join(", ")
            ))),
        }
    }
}

/// Ansible's boolean(): true/false, yes/no, on/off, 1/0, y/n, t/f (any case).
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Some(true),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Args {
        Args::new("m", v.as_object().unwrap().clone())
    }

    #[test]
    fn modes_follow_ansible() {
        let a = args(json!({"a": 420, "b": "0644", "c": "u+rwx,g-w", "d": "rwx!"}));
        assert_eq!(a.mode("a").unwrap().unwrap(), "0644");
        assert_eq!(a.mode("b").unwrap().unwrap(), "0644");
        assert_eq!(a.mode("c").unwrap().unwrap(), "u+rwx,g-w");
        assert!(a.mode("d").is_err());
    }

    #[test]
    fn bools_and_ints_convert() {
        let a = args(json!({"a": "yes", "b": "off", "c": "12", "d": "x"}));
        assert_eq!(a.bool("a").unwrap(), Some(true));
        assert_eq!(a.bool("b").unwrap(), Some(false));
        assert_eq!(a.int("c").unwrap(), Some(12));
        assert!(a.int("d").unwrap_err().0.contains("'d'"));
    }
}
