//! Builds [`Node`] trees from saphyr-parser's event stream: anchors and aliases, `<<` merge
//! keys as PyYAML applies them, Ansible's `!unsafe` tag, and positions on every node.
//!
//! Two limits keep hostile input from taking the process down: collections nest at most
//! [`MAX_NESTING`] levels (the tree is built, converted and dropped recursively), and
//! anchors and aliases, which copy their node, copy a bounded number of nodes (a "billion
//! laughs" document of nine lines would otherwise build 10^9 nodes).

use super::node::{Node, NodeKind, Pos};
use super::resolve;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use std::collections::HashMap;

/// How deep collections may nest, aliases included: serde_json's limit for JSON. saphyr
/// refuses flow collections past 255 levels on its own; this also bounds block ones, and
/// leaves the recursive code that converts the tree (`from_yaml` in a template, on a 2 MiB
/// worker stack) room to spare even in a debug build.
pub const MAX_NESTING: usize = 128;

/// The fewest nodes anchors and aliases may copy in any document; a larger document may
/// copy [`ALIAS_COPIES_PER_BYTE`] nodes per byte of its text.
const MIN_ALIAS_COPIES: usize = 1 << 20;
const ALIAS_COPIES_PER_BYTE: usize = 4;

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
        copies: CopyBudget::for_text(text.len()),
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
    anchors: HashMap<usize, Anchored>,
    copies: CopyBudget,
}

/// How many nodes anchors and aliases may copy, and how many more they may.
struct CopyBudget {
    total: usize,
    left: usize,
}

impl CopyBudget {
    /// The budget for a document of `len` bytes.
    fn for_text(len: usize) -> Self {
        let total = MIN_ALIAS_COPIES.max(len.saturating_mul(ALIAS_COPIES_PER_BYTE));
        CopyBudget { total, left: total }
    }

    /// Takes `nodes` copies, or fails at `span`.
    fn spend(&mut self, nodes: usize, span: &Span) -> Result<(), YamlError> {
        self.left = self.left.checked_sub(nodes).ok_or_else(|| {
            YamlError::at(
                span,
                format!(
                    "anchors and aliases copy more than {} nodes (aliases of aliases grow exponentially)",
                    self.total
                ),
            )
        })?;
        Ok(())
    }
}

/// A node under an anchor, with its [`Shape`] to check an alias before copying it.
struct Anchored {
    node: Node,
    shape: Shape,
}

/// The size of a composed node.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Nodes in the tree, the root included.
    nodes: usize,
    /// Collections nested inside the node, itself included (0 for a scalar).
    height: usize,
}

impl Shape {
    fn add(&mut self, child: Shape) {
        self.nodes += child.nodes;
        self.height = self.height.max(child.height + 1);
    }
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
                    doc = Some(self.node(event, span, 0)?.0);
                }
                other => doc = Some(self.node(other, span, 0)?.0),
            }
        }
    }

    /// Composes the node that starts with `event`, inside `depth` collections.
    fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        depth: usize,
    ) -> Result<(Node, Shape), YamlError> {
        let pos = pos_of(&span);
        let too_deep = || YamlError::at(&span, format!("nesting deeper than {MAX_NESTING} levels"));
        match event {
            Event::Alias(id) => {
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err(YamlError::at(&span, "found undefined alias"));
                };
                let shape = anchored.shape;
                if depth + shape.height > MAX_NESTING {
                    return Err(too_deep());
                }
                self.copies.spend(shape.nodes, &span)?;
                let mut node = anchored.node.clone();
                node.pos = pos;
                Ok((node, shape))
            }
            Event::Scalar(text, style, anchor, tag) => {
                let kind = scalar_kind(&text, style, tag.as_deref(), &span)?;
                let node = Node { kind, pos };
                let shape = Shape {
                    nodes: 1,
                    height: 0,
                };
                self.remember(anchor, &node, shape, &span)?;
                Ok((node, shape))
            }
            Event::SequenceStart(anchor, _tag) => {
                if depth == MAX_NESTING {
                    return Err(too_deep());
                }
                let mut shape = Shape {
                    nodes: 1,
                    height: 1,
                };
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    let (item, item_shape) = self.node(event, span, depth + 1)?;
                    shape.add(item_shape);
                    items.push(item);
                }
                let node = Node {
                    kind: NodeKind::Seq(items),
                    pos,
                };
                self.remember(anchor, &node, shape, &span)?;
                Ok((node, shape))
            }
            Event::MappingStart(anchor, _tag) => {
                if depth == MAX_NESTING {
                    return Err(too_deep());
                }
                let mut shape = Shape {
                    nodes: 1,
                    height: 1,
                };
                let mut own = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let is_merge = matches!(&event, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
                    let (key, key_shape) = self.node(event, span, depth + 1)?;
                    let (event, vspan) = self.next()?;
                    let (value, value_shape) = self.node(event, vspan, depth + 1)?;
                    if is_merge {
                        // Counted as the value: one level and one node more than its
                        // pairs, which errs on the safe side.
                        shape.add(value_shape);
                        merged.extend(merge_pairs(value, &vspan)?);
                    } else {
                        shape.add(key_shape);
                        shape.add(value_shape);
                        own.push((key, value));
                    }
                }
                merged.extend(own);
                let node = Node {
                    kind: NodeKind::Map(merged),
                    pos,
                };
                self.remember(anchor, &node, shape, &span)?;
                Ok((node, shape))
            }
            _ => Err(YamlError::at(&span, "unexpected YAML event")),
        }
    }

    /// Keeps a copy of an anchored node for its aliases; the copy counts against the budget.
    fn remember(
        &mut self,
        anchor: usize,
        node: &Node,
        shape: Shape,
        span: &Span,
    ) -> Result<(), YamlError> {
        if anchor != 0 {
            self.copies.spend(shape.nodes, span)?;
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    shape,
                },
            );
        }
        Ok(())
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

    /// Runs `f` on a thread with a tokio worker's 2 MiB stack, where `from_yaml` runs.
    fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn nesting_too_deep_is_an_error_at_the_collection() {
        let err = load(&("- ".repeat(40_000) + "1")).unwrap_err();
        assert_eq!(err.to_string(), "1:257: nesting deeper than 128 levels");
        let mut text = String::new();
        for i in 0..300 {
            text += &format!("{}k:\n", "  ".repeat(i));
        }
        let err = load(&text).unwrap_err();
        assert_eq!(err.message, "nesting deeper than 128 levels");
        assert_eq!(err.pos.line, 129, "{err}");
        // saphyr refuses deep flow collections itself.
        assert!(load(&"[".repeat(40_000)).is_err());
    }

    #[test]
    fn aliases_count_towards_the_nesting() {
        let mut text = "a0: &a0 [1]\n".to_string();
        for i in 1..300 {
            text += &format!("a{i}: &a{i} [*a{}]\n", i - 1);
        }
        let err = load(&text).unwrap_err();
        assert_eq!(err.to_string(), "128:14: nesting deeper than 128 levels");
    }

    /// A tree as deep as allowed is built, converted, cloned and dropped on a worker stack.
    #[test]
    fn the_deepest_allowed_tree_fits_a_worker_stack() {
        on_worker_stack(|| {
            let node = load(&("- ".repeat(MAX_NESTING) + "1")).unwrap().unwrap();
            let value = node.to_value();
            let copy = node.clone();
            drop(node);
            drop(copy);
            let mut depth = 0;
            let mut v = &value;
            while let Some(inner) = v.get(0) {
                depth += 1;
                v = inner;
            }
            assert_eq!((depth, v), (MAX_NESTING, &serde_json::json!(1)));
            drop(value);
            let mut text = "a0: &a0 [1]\n".to_string();
            for i in 1..MAX_NESTING - 1 {
                text += &format!("a{i}: &a{i} [*a{}]\n", i - 1);
            }
            drop(load(&text).unwrap().unwrap().to_value());
        });
    }

    /// Nine lines where each anchor holds ten aliases of the previous one would be 10^9
    /// nodes; the copies stop at the budget, at the alias that exceeds it.
    #[test]
    fn billion_laughs_stop_at_the_alias_budget() {
        let mut text = format!("a: &a [{}]\n", ["lol"; 10].join(", "));
        for (prev, name) in ('a'..='h').zip('b'..='i') {
            text += &format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            );
        }
        let err = on_worker_stack(move || load(&text)).unwrap_err();
        assert_eq!(
            err.message,
            "anchors and aliases copy more than 1048576 nodes (aliases of aliases grow exponentially)"
        );
        assert_eq!(err.pos.to_string(), "6:36");
    }

    /// The budget grows with the document: every host of a large inventory may merge the
    /// same defaults.
    #[test]
    fn merging_defaults_into_many_hosts_stays_within_the_budget() {
        let keys: Vec<String> = (0..30).map(|k| format!("k{k}: {k}")).collect();
        let mut text = format!("defaults: &d {{{}}}\nhosts:\n", keys.join(", "));
        for h in 0..20_000 {
            text += &format!("  h{h}: {{<<: *d, own: {h}}}\n");
        }
        let v = value(&text);
        assert_eq!(v["hosts"]["h19999"]["k29"], 29);
        assert_eq!(v["hosts"]["h19999"]["own"], 19999);
    }

    #[test]
    fn empty_stream_is_none() {
        assert!(load("").unwrap().is_none());
        assert!(load("# only a comment\n").unwrap().is_none());
    }
}
