//! YAML as Ansible reads it: PyYAML's YAML 1.1 typing, merge keys, anchors, and a source
//! position on every node. The main type is [`Node`]; [`load`] reads one document.

mod emit;
mod load;
mod node;
mod resolve;

pub use emit::{Dumper, to_yaml_string};
pub use load::{YamlError, decode_source, load, load_data};
pub use node::{Node, NodeKind, Pos};
