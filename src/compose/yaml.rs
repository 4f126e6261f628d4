//! A YAML tree that keeps each node's line, built from yaml-rust2's event parser (its own
//! `Yaml` tree drops positions). Anchors and aliases are resolved by copying the anchored node;
//! merge keys (`<<: *x`, `<<: [*a, *b]`) are applied the way Compose applies them: the
//! mapping's own keys win over merged ones.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One YAML node and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub value: Value,
}

/// A node's value. Scalars stay text: Compose interpolates text, and a plain `true` and a
/// quoted `"true"` read the same for every question asked here.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A plain empty scalar, `~` or `null` (an `environment` entry without a value).
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys in file order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

/// A YAML syntax error with its line.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Parses the first document of `text`; an empty text is an empty mapping.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| SyntaxError {
        line: e.marker().line(),
        message: e.info().to_string(),
    })?;
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(b.root.unwrap_or(Node {
        line: 1,
        value: Value::Map(vec![]),
    }))
}

/// Builds the tree from events. Open collections wait on `stack`; a finished node goes to its
/// parent (a mapping alternates key, value).
#[derive(Default)]
struct Builder {
    stack: Vec<(Node, usize, Option<Node>)>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    error: Option<SyntaxError>,
}

impl Builder {
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        let Some((parent, _, pending_key)) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return;
        };
        match &mut parent.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => {
                    if key.as_str() == Some("<<") {
                        merge_into(entries, &node);
                    } else {
                        // A later duplicate key replaces the earlier one, as in Compose.
                        entries.retain(|(k, _)| k.value != key.value || k.as_str() == Some("<<"));
                        entries.push((key, node));
                    }
                }
            },
            Value::Scalar(_) | Value::Null => {}
        }
    }
}

/// Applies a merge key's mapping (or list of mappings) under the keys already present.
fn merge_into(entries: &mut Vec<(Node, Node)>, merged: &Node) {
    let sources: Vec<&Node> = match &merged.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![merged],
    };
    for source in sources {
        for (k, v) in source.as_map().unwrap_or_default() {
            if !entries.iter().any(|(e, _)| e.value == k.value) {
                entries.push((k.clone(), v.clone()));
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let null = style == TScalarStyle::Plain
                    && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL");
                let value = if null {
                    Value::Null
                } else {
                    Value::Scalar(text)
                };
                self.finish(Node { line, value }, anchor)
            }
            Event::SequenceStart(anchor, _) => self.stack.push((
                Node {
                    line,
                    value: Value::Seq(vec![]),
                },
                anchor,
                None,
            )),
            Event::MappingStart(anchor, _) => self.stack.push((
                Node {
                    line,
                    value: Value::Map(vec![]),
                },
                anchor,
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor, _)) = self.stack.pop() {
                    self.finish(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.iter().rev().find(|(a, _)| *a == id) {
                Some((_, node)) => {
                    let node = node.clone();
                    self.finish(node, 0);
                }
                None => {
                    self.error = Some(SyntaxError {
                        line,
                        message: "an alias names an anchor not defined before it".into(),
                    })
                }
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_anchors_and_merge_keys() {
        let text = "x: &base\n  a: 1\n  b: 2\ny:\n  <<: *base\n  b: 3\nz: *base\n";
        let root = parse(text).unwrap();
        let y = root.get("y").unwrap();
        assert_eq!(y.get("a").unwrap().as_str(), Some("1"));
        // The mapping's own key wins over the merged one.
        assert_eq!(y.get("b").unwrap().as_str(), Some("3"));
        assert_eq!(y.get("b").unwrap().line, 6);
        assert_eq!(root.get("z").unwrap().get("b").unwrap().as_str(), Some("2"));
        assert_eq!(root.get("x").unwrap().line, 2);
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let e = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        let e = parse("a: *nowhere\n").unwrap_err();
        assert_eq!(e.line, 1, "{e:?}");
    }

    #[test]
    fn empty_text_is_an_empty_mapping() {
        assert_eq!(parse("").unwrap().as_map().map(|m| m.len()), Some(0));
    }

    #[test]
    fn plain_empties_are_null_and_quoted_ones_text() {
        let root = parse(
            "a:
b: ~
c: \"\"
d: 'null'
",
        )
        .unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Null);
        assert_eq!(root.get("b").unwrap().value, Value::Null);
        assert_eq!(root.get("c").unwrap().as_str(), Some(""));
        assert_eq!(root.get("d").unwrap().as_str(), Some("null"));
    }
}
