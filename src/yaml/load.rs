//! Builds [`Node`] trees from saphyr-parser's event stream: anchors and aliases, `<<` merge
//! keys as PyYAML applies them, Ansible's `!unsafe` tag, and positions on every node.

use super::node::{Node, NodeKind, Pos};
use super::resolve;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use std::collections::HashMap;

/// A YAML text that could not be read, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

impl YamlError {
    fn at(span: &Span, message: impl Into<String>) -> Self {
        YamlError {
            pos: pos_of(span),
            message: message.into(),
        }
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

/// The text of a source file; one that is not UTF-8 is an error at its first invalid byte,
/// with the column counted in characters as for YAML errors.
pub fn decode_source(bytes: Vec<u8>) -> Result<String, YamlError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let bad = e.as_bytes().get(valid.len()).copied().unwrap_or_default();
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        YamlError {
            pos: Pos {
                line: valid.iter().filter(|b| **b == b'\n').count() + 1,
                col: String::from_utf8_lossy(&valid[line_start..])
                    .chars()
                    .count()
                    + 1,
            },
            message: format!("the file is not valid UTF-8 (byte 0x{bad:02x})"),
        }
    })
}

/// Loads the single document of a YAML text; `Ok(None)` for an empty stream.
pub fn load(text: &str) -> Result<Option<Node>, YamlError> {
    let mut composer = Composer {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    composer.stream()
}

/// Loads a data file as Ansible's loader does: JSON first when the text parses as JSON,
/// otherwise YAML.
pub fn load_data(text: &str) -> Result<Option<Node>, YamlError> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
    {
        let line = text.len() - trimmed.len();
        let pos = Pos {
            line: text[..line].matches('\n').count() + 1,
            col: 1,
        };
        return Ok(Some(from_json(value, pos)));
    }
    load(text)
}

fn from_json(value: serde_json::Value, pos: Pos) -> Node {
    use serde_json::Value;
    let kind = match value {
        Value::Null => NodeKind::Null,
        Value::Bool(b) => NodeKind::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => NodeKind::Int(i),
            (None, Some(u)) => NodeKind::UInt(u),
            _ => NodeKind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => NodeKind::Str(s),
        Value::Array(items) => {
            NodeKind::Seq(items.into_iter().map(|v| from_json(v, pos)).collect())
        }
        Value::Object(map) => NodeKind::Map(
            map.into_iter()
                .map(|(k, v)| {
                    (
                        Node {
                            kind: NodeKind::Str(k),
                            pos,
                        },
                        from_json(v, pos),
                    )
                })
                .collect(),
        ),
    };
    Node { kind, pos }
}

struct Composer<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
}

impl<'a> Composer<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next() {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(YamlError {
                pos: Pos {
                    line: e.marker().line(),
                    col: e.marker().col() + 1,
                },
                message: e.info().to_string(),
            }),
            None => Err(YamlError {
                pos: Pos::default(),
                message: "unexpected end of stream".into(),
            }),
        }
    }

    fn stream(&mut self) -> Result<Option<Node>, YamlError> {
        let mut doc = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(doc),
                Event::DocumentStart(_) => {
                    if doc.is_some() {
                        return Err(YamlError::at(
                            &span,
                            "expected a single document in the stream, found another document",
                        ));
                    }
                    let (event, span) = self.next()?;
                    doc = Some(self.node(event, span)?);
                }
                other => doc = Some(self.node(other, span)?),
            }
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, YamlError> {
        let pos = pos_of(&span);
        match event {
            Event::Alias(id) => self
                .anchors
                .get(&id)
                .cloned()
                .map(|mut n| {
                    n.pos = pos;
                    n
                })
                .ok_or_else(|| YamlError::at(&span, "found undefined alias")),
            Event::Scalar(text, style, anchor, tag) => {
                let kind = scalar_kind(&text, style, tag.as_deref(), &span)?;
                let node = Node { kind, pos };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::SequenceStart(anchor, _tag) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span)?);
                }
                let node = Node {
                    kind: NodeKind::Seq(items),
                    pos,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, _tag) => {
                let mut own = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let is_merge = matches!(&event, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
                    let key = self.node(event, span)?;
                    let (event, vspan) = self.next()?;
                    let value = self.node(event, vspan)?;
                    if is_merge {
                        merged.extend(merge_pairs(value, &vspan)?);
                    } else {
                        own.push((key, value));
                    }
                }
                merged.extend(own);
                let node = Node {
                    kind: NodeKind::Map(merged),
                    pos,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            _ => Err(YamlError::at(&span, "unexpected YAML event")),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }
}

/// The pairs a `<<` value contributes: a mapping, or a list of mappings where earlier ones
/// win (PyYAML reverses the list before extending).
fn merge_pairs(value: Node, span: &Span) -> Result<Vec<(Node, Node)>, YamlError> {
    match value.kind {
        NodeKind::Map(pairs) => Ok(pairs),
        NodeKind::Seq(items) => {
            let mut maps = Vec::with_capacity(items.len());
            for item in items {
                match item.kind {
                    NodeKind::Map(pairs) => maps.push(pairs),
                    _ => {
                        return Err(YamlError {
                            pos: item.pos,
                            message: format!(
                                "expected a mapping for merging, but found {}",
                                Node {
                                    kind: item.kind,
                                    pos: item.pos
                                }
                                .type_name()
                            ),
                        });
                    }
                }
            }
            Ok(maps.into_iter().rev().flatten().collect())
        }
        other => Err(YamlError::at(
            span,
            format!(
                "expected a mapping or list of mappings for merging, but found {}",
                Node {
                    kind: other,
                    pos: Pos::default()
                }
                .type_name()
            ),
        )),
    }
}

fn scalar_kind(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<NodeKind, YamlError> {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() {
            return resolve::tagged(&tag.suffix, text).ok_or_else(|| {
                YamlError::at(span, format!("cannot read {text:?} as !!{}", tag.suffix))
            });
        }
        return match (tag.handle.as_str(), tag.suffix.as_str()) {
            ("!", "unsafe") => Ok(NodeKind::Str(text.to_string())),
            ("!", "vault") => Err(YamlError::at(
                span,
                "vault-encrypted values (!vault) are not supported by horde",
            )),
            _ => Ok(NodeKind::Str(text.to_string())),
        };
    }
    Ok(match style {
        ScalarStyle::Plain => resolve::plain(text),
        _ => NodeKind::Str(text.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> serde_json::Value {
        load(text).unwrap().unwrap().to_value()
    }

    #[test]
    fn non_utf8_is_placed_at_its_first_bad_byte_in_characters() {
        let e = decode_source(b"a: 1\nb: \xc3\xa9\xe9\n".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "2:5: the file is not valid UTF-8 (byte 0xe9)"
        );
        assert_eq!(
            decode_source(b"\xff".to_vec()).unwrap_err().pos,
            Pos { line: 1, col: 1 }
        );
        assert_eq!(decode_source(b"ok\n".to_vec()).unwrap(), "ok\n");
    }

    #[test]
    fn merge_keys_apply_with_own_keys_winning() {
        let v = value("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n");
        assert_eq!(v["x"], serde_json::json!({"a": 1, "b": 3}));
    }

    #[test]
    fn merge_list_earlier_maps_win() {
        let v = value("a: &a {k: 1}\nb: &b {k: 2, j: 2}\nx:\n  <<: [*a, *b]\n");
        assert_eq!(v["x"]["k"], 1);
        assert_eq!(v["x"]["j"], 2);
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let v = value("a: 'yes'\nb: \"12\"\nc: yes\nd: !unsafe '{{ x }}'\n");
        assert_eq!(
            v,
            serde_json::json!({"a": "yes", "b": "12", "c": true, "d": "{{ x }}"})
        );
    }

    #[test]
    fn errors_have_positions() {
        let err = load("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1, "{err}");
        let err = load("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2);
    }

    #[test]
    fn json_text_is_read_as_json() {
        let v = load_data("{\"a\": 1e3, \"b\": [true]}")
            .unwrap()
            .unwrap()
            .to_value();
        assert_eq!(v["a"], 1000.0);
    }

    #[test]
    fn empty_stream_is_none() {
        assert!(load("").unwrap().is_none());
        assert!(load("# only a comment\n").unwrap().is_none());
    }
}
