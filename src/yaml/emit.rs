//! A YAML writer for JSON values that gives the bytes Ansible's `yaml.dump` gives (its
//! `AnsibleDumper` is PyYAML's representer on libyaml's emitter). [`Dumper`] holds the
//! options (`indent`, `width`, `default_flow_style`, `sort_keys`); [`to_yaml_string`] is the
//! block style of `ansible-inventory --yaml`.
//!
//! This is a port of the parts of libyaml's `emitter.c` that plain data reaches: block and
//! flow collections, simple and complex (`? key`) mapping keys, and its choice of scalar style
//! (plain, single- or double-quoted) from an analysis of the text, with folding of long lines
//! at `width` columns. A string is quoted when PyYAML's YAML 1.1 resolver would read it back
//! as something else (`yes`, `0755`, `2001-12-14`, `''`). One piece on purpose: the emitter
//! state (column, indent stack, whitespace flags) is shared by every write.

use crate::vars::python_float_repr;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// Renders a value as a block-style YAML document (ending in a newline), as
/// `yaml.dump(v, default_flow_style=False, allow_unicode=True)` does.
pub fn to_yaml_string(value: &Value) -> String {
    Dumper::default().dump(value)
}

/// The options of PyYAML's `yaml.dump` that shape the output.
#[derive(Debug, Clone, Copy)]
pub struct Dumper {
    /// Spaces per nesting level (2 to 9; PyYAML falls back to 2 otherwise).
    pub indent: usize,
    /// The column after which long scalars and flow collections are folded.
    pub width: usize,
    /// `Some(true)`: all collections inline; `Some(false)`: all block; `None`: inline
    /// exactly those whose items are all scalars (PyYAML's default).
    pub default_flow_style: Option<bool>,
    /// Mapping keys in sorted order (PyYAML's default) or as given.
    pub sort_keys: bool,
}

impl Default for Dumper {
    fn default() -> Self {
        Dumper {
            indent: 2,
            width: 80,
            default_flow_style: Some(false),
            sort_keys: true,
        }
    }
}

impl Dumper {
    /// Renders `value` as one YAML document ending in a newline.
    pub fn dump(&self, value: &Value) -> String {
        let best_indent = if (2..10).contains(&self.indent) {
            self.indent
        } else {
            2
        };
        let mut e = Emitter {
            out: String::new(),
            column: 0,
            indent: None,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            flow_level: 0,
            best_indent,
            best_width: if self.width > best_indent * 2 {
                self.width
            } else {
                80
            },
            options: *self,
        };
        e.node(value, false, false);
        e.indent = None;
        e.write_indent();
        e.out
    }
}

struct Emitter {
    out: String,
    column: usize,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    /// The last character written is whitespace (no space needed before an indicator).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
    flow_level: usize,
    best_indent: usize,
    best_width: usize,
    options: Dumper,
}

impl Emitter {
    fn node(&mut self, v: &Value, mapping: bool, simple_key: bool) {
        match v {
            Value::Array(items) => {
                if self.flow_level > 0 || items.is_empty() || self.flow_style(v) {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items, mapping);
                }
            }
            Value::Object(map) => {
                let entries = self.entries(map);
                if self.flow_level > 0 || map.is_empty() || self.flow_style(v) {
                    self.flow_mapping(&entries);
                } else {
                    self.block_mapping(&entries);
                }
            }
            Value::String(s) => self.scalar(s, !resolves_to_other_type(s), simple_key),
            other => self.scalar(&scalar_text(other), true, simple_key),
        }
    }

    /// The representer's choice for a collection: with no `default_flow_style`, inline when
    /// every item is a scalar.
    fn flow_style(&self, v: &Value) -> bool {
        let scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
        self.options.default_flow_style.unwrap_or_else(|| match v {
            Value::Array(items) => items.iter().all(scalar),
            Value::Object(map) => map.values().all(scalar),
            _ => true,
        })
    }

    fn entries<'a>(&self, map: &'a serde_json::Map<String, Value>) -> Vec<(&'a String, &'a Value)> {
        let mut entries: Vec<_> = map.iter().collect();
        if self.options.sort_keys {
            entries.sort_by(|a, b| a.0.cmp(b.0));
        }
        entries
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(self.best_indent),
            None => Some(0),
            Some(i) if !indentless => Some(i + self.best_indent),
            Some(i) => Some(i),
        };
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn block_sequence(&mut self, items: &[Value], mapping: bool) {
        // PyYAML writes a mapping's sequences without indenting the dashes.
        self.increase_indent(false, mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, false, false);
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(&String, &Value)]) {
        self.increase_indent(false, false);
        for (key, value) in entries {
            self.write_indent();
            if is_simple_key(key) {
                self.scalar(key, !resolves_to_other_type(key), true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.scalar(key, !resolves_to_other_type(key), false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, true, false);
        }
        self.pop_indent();
    }

    fn flow_sequence(&mut self, items: &[Value]) {
        self.write_indicator("[", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.node(item, false, false);
        }
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, entries: &[(&String, &Value)]) {
        self.write_indicator("{", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            if is_simple_key(key) {
                self.scalar(key, !resolves_to_other_type(key), true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.scalar(key, !resolves_to_other_type(key), false);
                if self.column > self.best_width {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
            }
            self.node(value, true, false);
        }
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("}", false, false, false);
    }

    /// libyaml's `yaml_emitter_select_scalar_style` and `process_scalar`. `plain_implicit`
    /// is false when the text written plain would be read back as another type.
    fn scalar(&mut self, text: &str, plain_implicit: bool, simple_key: bool) {
        let a = Analysis::of(text);
        let mut style = if simple_key && a.multiline {
            Style::Double
        } else {
            Style::Plain
        };
        if style == Style::Plain
            && ((self.flow_level > 0 && !a.flow_plain)
                || (self.flow_level == 0 && !a.block_plain)
                || (text.is_empty() && (self.flow_level > 0 || simple_key))
                || !plain_implicit)
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let chars: Vec<char> = text.chars().collect();
        match style {
            Style::Plain => self.write_plain(&chars, !simple_key),
            Style::Single => self.write_single_quoted(&chars, !simple_key),
            Style::Double => self.write_double_quoted(&chars, !simple_key),
        }
        self.pop_indent();
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_space: bool, space: bool, indention: bool) {
        if need_space && !self.whitespace {
            self.put(' ');
        }
        indicator.chars().for_each(|c| self.put(c));
        self.whitespace = space;
        self.indention = self.indention && indention;
    }

    /// Whether a space at `i` may become a line break.
    fn can_fold(&self, chars: &[char], i: usize, spaces: bool) -> bool {
        !spaces && self.column > self.best_width && i != 0 && i + 1 != chars.len()
    }

    fn write_plain(&mut self, chars: &[char], allow_breaks: bool) {
        if !self.whitespace && (!chars.is_empty() || self.flow_level > 0) {
            self.put(' ');
        }
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks && self.can_fold(chars, i, spaces) && chars[i + 1] != ' ' {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                // Line breaks never reach here: a multi-line string is never plain.
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, chars: &[char], allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks && self.can_fold(chars, i, spaces) && chars[i + 1] != ' ' {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                // A line break inside single quotes folds to a space, so a newline is
                // written as an empty line.
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, chars: &[char], allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match escape(c) {
                    Some(e) => self.put(e),
                    None => {
                        let code = c as u32;
                        let escaped = if code <= 0xff {
                            format!("x{code:02X}")
                        } else if code <= 0xffff {
                            format!("u{code:04X}")
                        } else {
                            format!("U{code:08X}")
                        };
                        escaped.chars().for_each(|c| self.put(c));
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && self.can_fold(chars, i, spaces) {
                    self.write_indent();
                    if chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds out about a text.
struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
}

impl Analysis {
    fn of(text: &str) -> Analysis {
        if text.is_empty() {
            return Analysis {
                multiline: false,
                flow_plain: false,
                block_plain: true,
                single_quoted: true,
            };
        }
        let chars: Vec<char> = text.chars().collect();
        let blank = |c: Option<&char>| c.is_none_or(|&c| c == ' ' || c == '\t' || is_break(c));
        let mut flow_indicators = text.starts_with("---") || text.starts_with("...");
        let mut block_indicators = flow_indicators;
        let (mut line_breaks, mut special) = (false, false);
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace = blank(chars.get(i + 1));
            if i == 0 {
                if "#,[]{}&*!|>'\"%@`".contains(c) {
                    flow_indicators = true;
                    block_indicators = true;
                }
                if c == '?' || c == ':' {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                if c == '-' && followed_by_whitespace {
                    flow_indicators = true;
                    block_indicators = true;
                }
            } else {
                if ",?[]{}".contains(c) {
                    flow_indicators = true;
                }
                if c == ':' {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                if c == '#' && preceded_by_whitespace {
                    flow_indicators = true;
                    block_indicators = true;
                }
            }
            special |= !is_printable(c);
            line_breaks |= is_break(c);
            let last = i + 1 == chars.len();
            if c == ' ' {
                leading_space |= i == 0;
                trailing_space |= last;
                break_space |= previous_break;
                (previous_space, previous_break) = (true, false);
            } else if is_break(c) {
                leading_break |= i == 0;
                trailing_break |= last;
                space_break |= previous_space;
                (previous_space, previous_break) = (false, true);
            } else {
                (previous_space, previous_break) = (false, false);
            }
            preceded_by_whitespace = blank(Some(&c));
        }
        let edges = leading_space || leading_break || trailing_space || trailing_break;
        let plain = !(edges || break_space || space_break || special || line_breaks);
        Analysis {
            multiline: line_breaks,
            flow_plain: plain && !flow_indicators,
            block_plain: plain && !block_indicators,
            single_quoted: !(break_space || space_break || special),
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `IS_PRINTABLE`: what may appear unescaped (with `allow_unicode`).
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}')
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

fn escape(c: char) -> Option<char> {
    Some(match c {
        '\0' => '0',
        '\u{7}' => 'a',
        '\u{8}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{b}' => 'v',
        '\u{c}' => 'f',
        '\r' => 'r',
        '\u{1b}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{a0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => return None,
    })
}

/// libyaml's `yaml_emitter_check_simple_key` for a string key: one line, at most 128 bytes.
fn is_simple_key(key: &str) -> bool {
    key.len() <= 128 && !key.contains(is_break)
}

/// PyYAML's `SafeRepresenter` text of a non-string scalar.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => {
            let repr = n.as_f64().map_or_else(|| n.to_string(), python_float_repr);
            match repr.as_str() {
                "inf" => ".inf".into(),
                "-inf" => "-.inf".into(),
                "nan" => ".nan".into(),
                r if !r.contains('.') && r.contains('e') => r.replacen('e', ".0e", 1),
                r => r.to_string(),
            }
        }
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// PyYAML's YAML 1.1 implicit resolvers (bool, int, float, null, timestamp, merge, value),
/// as regular expressions only: `2001-13-45` still resolves to a timestamp.
static IMPLICIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        r"|<<|~|null|Null|NULL|=|",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
        r")$",
    ))
    .expect("static regex")
});

/// True when a string written plain would be read back as another type. Python's `$` also
/// matches before a final newline.
fn resolves_to_other_type(s: &str) -> bool {
    IMPLICIT.is_match(s) || s.strip_suffix('\n').is_some_and(|t| IMPLICIT.is_match(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_the_loader() {
        let v = json!({"b": [1, "yes", {"x": "a: b", "y": []}], "a": {"k": null, "f": 1.5, "s": "0755"}});
        let text = to_yaml_string(&v);
        let back = super::super::load(&text).unwrap().unwrap().to_value();
        assert_eq!(back, v, "{text}");
    }

    fn dump(v: Value, indent: usize, flow: Option<bool>) -> String {
        Dumper {
            indent,
            default_flow_style: flow,
            ..Dumper::default()
        }
        .dump(&v)
    }

    /// Expected texts are those of `yaml.dump(v, Dumper=AnsibleDumper, allow_unicode=True,
    /// ...)` with ansible-core 2.19.14 and PyYAML 6.0.3 (libyaml).
    #[test]
    fn scalars_are_quoted_and_folded_as_pyyaml_does() {
        let one = |s: &str| dump(json!({ "k": s }), 2, Some(false));
        let cases = [
            ("a\ttab", "k: \"a\\ttab\"\n"),
            ("trailing\n", "k: 'trailing\n\n  '\n"),
            ("two\n\nbreaks", "k: 'two\n\n\n  breaks'\n"),
            (" lead", "k: ' lead'\n"),
            ("x: y", "k: 'x: y'\n"),
            ("- x", "k: '- x'\n"),
            ("-x", "k: -x\n"),
            ("a #b", "k: 'a #b'\n"),
            ("a#b", "k: a#b\n"),
            ("2001-12-14", "k: '2001-12-14'\n"),
            ("2001-13-45", "k: '2001-13-45'\n"),
            ("<<", "k: '<<'\n"),
            ("=", "k: '='\n"),
            ("1e3", "k: 1e3\n"),
            ("1.0e+3", "k: '1.0e+3'\n"),
            ("0o17", "k: 0o17\n"),
            ("y", "k: y\n"),
            ("~", "k: '~'\n"),
            ("it's", "k: it's\n"),
            ("'q'", "k: '''q'''\n"),
            ("say \"hi\"", "k: say \"hi\"\n"),
            ("\"hi\"", "k: '\"hi\"'\n"),
            ("caf\u{e9} \u{1f600}", "k: \"caf\u{e9} \\U0001F600\"\n"),
            ("a\u{85}b\u{2028}c", "k: \"a\\Nb\\Lc\"\n"),
            ("nul\0x", "k: \"nul\\0x\"\n"),
            ("crlf\r\nx", "k: \"crlf\\r\\nx\"\n"),
            ("trailing space ", "k: 'trailing space '\n"),
            ("sp \nbreak", "k: \"sp \\nbreak\"\n"),
            ("break\n space", "k: \"break\\n space\"\n"),
        ];
        for (s, want) in cases {
            assert_eq!(one(s), want, "{s:?}");
        }
        let words = ["word"; 21].join(" ");
        let folded = "word word word word word word word word word word word word word word word word\n  word word word word word";
        assert_eq!(one(&words), format!("k: {folded}\n"));
        assert_eq!(
            one(&format!("{words}\nsecond line here")),
            format!("k: '{folded}\n\n  second line here'\n")
        );
        assert_eq!(
            one(&format!("{words}\ttab")),
            format!("k: \"{folded}\\ttab\"\n")
        );
    }

    #[test]
    fn documents_and_collections_follow_pyyaml() {
        assert_eq!(dump(json!("abc"), 2, None), "abc\n");
        assert_eq!(dump(json!("yes"), 2, None), "'yes'\n");
        assert_eq!(dump(json!(""), 2, None), "''\n");
        assert_eq!(dump(json!(null), 2, None), "null\n");
        assert_eq!(dump(json!(1.5), 2, None), "1.5\n");
        assert_eq!(dump(json!(1e20), 2, None), "1.0e+20\n");
        assert_eq!(dump(json!([]), 2, None), "[]\n");
        assert_eq!(dump(json!("multi\nline"), 2, None), "'multi\n\n  line'\n");
        assert_eq!(
            dump(json!(["multi\nline"]), 2, Some(false)),
            "- 'multi\n\n  line'\n"
        );
        assert_eq!(
            dump(json!({"k": ["multi\nline", "a"]}), 2, None),
            "k: ['multi\n\n    line', a]\n"
        );
        assert_eq!(
            dump(json!({"text": "multi\nline"}), 2, None),
            "{text: 'multi\n\n    line'}\n"
        );
        assert_eq!(dump(json!({"k": "x"}), 2, Some(true)), "{k: x}\n");
        let list = json!({"list": ["aaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccccc", "dddddddddddddd",
            "eeeeeeeeeeeeeeee", "ffffffffffff", "ggggggggg"]});
        assert_eq!(
            dump(list, 2, None),
            "list: [aaaaaaaaaa, bbbbbbbbbbbb, cccccccccccccc, dddddddddddddd, eeeeeeeeeeeeeeee,\n  ffffffffffff, ggggggggg]\n"
        );
        let long_key = "k".repeat(134);
        assert_eq!(
            dump(json!({ long_key.clone(): 1 }), 2, Some(false)),
            format!("? {long_key}\n: 1\n")
        );
        assert_eq!(
            dump(json!({"multi\nkey": 1, "": 2}), 2, Some(false)),
            "'': 2\n? 'multi\n\n  key'\n: 1\n"
        );
        assert_eq!(
            dump(json!([[1, 2], [3]]), 2, Some(false)),
            "- - 1\n  - 2\n- - 3\n"
        );
        assert_eq!(
            dump(json!([{"a": 1, "b": [1, {"c": 2}]}]), 4, Some(false)),
            "-   a: 1\n    b:\n    - 1\n    -   c: 2\n"
        );
        assert_eq!(
            dump(
                json!({"a": {"b": {"c": "x"}}, "e": [], "f": {}}),
                4,
                Some(false)
            ),
            "a:\n    b:\n        c: x\ne: []\nf: {}\n"
        );
        assert_eq!(
            dump(
                json!({"a": [1, "x y", "a,b", "[x]", "", null, true]}),
                2,
                None
            ),
            "a: [1, x y, 'a,b', '[x]', '', null, true]\n"
        );
    }
}
