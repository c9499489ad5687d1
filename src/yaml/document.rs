//! The document: a YAML file's text, and a compact tree of its nodes with the byte range each
//! one occupies in that text.
//!
//! Parsing uses granit-parser (a maintained descendant of yaml-rust and saphyr-parser, the
//! parser under serde-saphyr), which reports byte offsets. The tree is flat and in document
//! order: a node is followed by its descendants, and `size` says how many, so children are
//! found by skipping subtrees. Scalars keep no copy of their value when it equals their source
//! bytes (the common case: plain scalars), which keeps memory near the size of the file.
//!
//! Values are read as kubectl reads them (sigs.k8s.io/yaml over go-yaml v2): YAML 1.1 booleans
//! (`yes`, `on`, `y`), legacy octals (`0777`), timestamps, `<<` merge keys, last duplicate key
//! wins.

use std::collections::HashMap;

use granit_parser::{Event, Options, Parser, ScalarStyle, StructureStyle};
use serde_json::{Map, Value};

pub(crate) type NodeId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
    BlockMap,
    FlowMap,
    BlockSeq,
    FlowSeq,
    Alias,
}

impl NodeKind {
    pub(crate) fn is_scalar(self) -> bool {
        matches!(
            self,
            Self::Plain | Self::Single | Self::Double | Self::Literal | Self::Folded
        )
    }
    pub(crate) fn is_map(self) -> bool {
        matches!(self, Self::BlockMap | Self::FlowMap)
    }
    pub(crate) fn is_seq(self) -> bool {
        matches!(self, Self::BlockSeq | Self::FlowSeq)
    }
    pub(crate) fn is_block(self) -> bool {
        matches!(self, Self::BlockMap | Self::BlockSeq)
    }
}

const ANCHORED: u8 = 1;
const TAGGED: u8 = 2;
/// A block sequence whose first `-` could not be located in the text.
const ODD: u8 = 4;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    /// Byte range in the text. A block sequence starts at its first `-`, a block mapping at
    /// its first key; a block collection ends where its last descendant ends. An empty value
    /// (`key:` with nothing after it) is a zero-width plain scalar.
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) kind: NodeKind,
    flags: u8,
    /// Nodes in this subtree, itself included.
    size: u32,
    /// Scalars: 1 + index into `decoded`, or 0 when the value is the source text.
    /// Aliases: index into `alias_names`. Collections: the number of children.
    aux: u32,
}

/// A scalar as kubectl's YAML reader types it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// A plain scalar that go-yaml v2 reads as a time (`2024-01-01`); kept as written.
    Timestamp(&'a str),
    Str(&'a str),
}

impl Resolved<'_> {
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(*b),
            Resolved::Int(i) => i64::try_from(*i)
                .map(Value::from)
                .or_else(|_| u64::try_from(*i).map(Value::from))
                .unwrap_or_else(|_| Value::String(i.to_string())),
            Resolved::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(f.to_string())),
            Resolved::Timestamp(s) | Resolved::Str(s) => Value::String((*s).to_owned()),
        }
    }

    /// Same data (NaN equals NaN here: the question is "did the text change its meaning").
    pub(crate) fn same(&self, other: &Resolved<'_>) -> bool {
        match (self, other) {
            (Resolved::Float(a), Resolved::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            _ => self == other,
        }
    }
}

/// go-yaml v2's `resolve` for a plain (untagged) scalar.
pub(crate) fn resolve_plain(s: &str) -> Resolved<'_> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' => match parse_go_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str(s),
        },
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s) {
                return Resolved::Timestamp(s);
            }
            let plain = s.replace('_', "");
            if let Some(i) = parse_go_int(&plain) {
                return Resolved::Int(i);
            }
            if yaml_style_float(&plain) {
                if let Some(f) = parse_go_float(&plain) {
                    return Resolved::Float(f);
                }
            }
            Resolved::Str(s)
        }
        _ => Resolved::Str(s),
    }
}

/// strconv.ParseInt/ParseUint with base 0 (sign, 0x, 0o, 0b, leading-0 octal), 64 bits.
fn parse_go_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        (v <= 1u128 << 63).then(|| -(v as i128))
    } else {
        (v <= u64::MAX as u128).then_some(v as i128)
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn parse_go_float(s: &str) -> Option<f64> {
    // Go accepts what Rust accepts for these shapes, minus Rust's "inf"/"nan" words.
    let lower = s.to_ascii_lowercase();
    if lower.contains("inf") || lower.contains("nan") {
        return None;
    }
    s.parse().ok()
}

/// go-yaml v2's timestamp check: `YYYY-M-D`, optionally with a time.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max: usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        *i - st
    };
    if num(&mut i, 2) == 0 || i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    if num(&mut i, 2) == 0 {
        return false;
    }
    if i == b.len() {
        return true;
    }
    // a time part: [Tt ]h:m:s[.frac][Z|±hh:mm]
    if !matches!(b[i], b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    for sep in [b':', b':'] {
        if num(&mut i, 2) == 0 || i >= b.len() || b[i] != sep {
            return false;
        }
        i += 1;
    }
    if num(&mut i, 2) == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if num(&mut i, 9) == 0 {
            return false;
        }
    }
    if i == b.len() {
        return true;
    }
    if b[i] == b'Z' {
        return i + 1 == b.len();
    }
    if b[i] == b'+' || b[i] == b'-' {
        i += 1;
        return num(&mut i, 2) > 0
            && i < b.len()
            && b[i] == b':'
            && {
                i += 1;
                num(&mut i, 2) == 2
            }
            && i == b.len();
    }
    false
}

/// Where a parse failed, for a one-line message.
#[derive(Debug, Clone)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid YAML at line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// A parsed document (the first of the file; see `extra_documents`).
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) text: String,
    nodes: Vec<Node>,
    decoded: Vec<String>,
    anchors: HashMap<NodeId, String>,
    alias_names: Vec<String>,
    tags: HashMap<NodeId, String>,
    /// A later document (after `---`) holds data: kubectl reads only the first.
    pub(crate) extra_documents: bool,
    /// The line ending the file uses ("\r\n" when its first line ends so).
    pub(crate) newline: &'static str,
}

fn parser_options() -> Options {
    let mut o = Options::default();
    o.emit_anchor_events = true;
    o.emit_comments = false;
    o
}

fn syntax_error(e: &granit_parser::ScanError) -> SyntaxError {
    let m = e.marker();
    SyntaxError {
        line: m.line(),
        column: m.col() + 1,
        message: e.info(),
    }
}

/// The `-` of a block sequence item, scanning forward from the end of what precedes it (the
/// key's `:`, comments, anchors and tags may come between; between two items only blanks and
/// comments do).
pub(crate) fn find_dash(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let ws = |i: usize| i >= b.len() || matches!(b[i], b' ' | b'\t' | b'\r' | b'\n');
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b':' | b'?' if ws(i + 1) => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'&' | b'!' => {
                while !ws(i) {
                    i += 1;
                }
            }
            b'-' if ws(i + 1) => return Some(i),
            _ => return None,
        }
    }
    None
}

impl Document {
    pub(crate) fn parse(text: String) -> Result<Self, SyntaxError> {
        let newline = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        let mut b = Builder {
            doc: Document {
                text: String::new(),
                nodes: Vec::new(),
                decoded: Vec::new(),
                anchors: HashMap::new(),
                alias_names: Vec::new(),
                tags: HashMap::new(),
                extra_documents: false,
                newline,
            },
            text: &text,
            anchor_names: HashMap::new(),
            stack: Vec::new(),
            documents: 0,
            last_end: 0,
        };
        for item in Parser::new_from_str_with_options(&text, parser_options()) {
            let (ev, span) = item.map_err(|e| syntax_error(&e))?;
            let start = span.start.byte_offset().unwrap_or(0);
            let end = span.end.byte_offset().unwrap_or(start);
            b.event(ev, start, end);
        }
        let mut doc = b.doc;
        doc.text = text;
        Ok(doc)
    }
}

/// Builds the flat node tree from the parser's events.
struct Builder<'t> {
    doc: Document,
    text: &'t str,
    anchor_names: HashMap<usize, String>,
    /// Open collections: (node index, children so far).
    stack: Vec<(usize, u32)>,
    documents: usize,
    /// Where the last node seen ends (a block collection ends where its last child does).
    last_end: usize,
}

impl Builder<'_> {
    fn event(&mut self, ev: Event<'_>, start: usize, end: usize) {
        match &ev {
            Event::DocumentStart(..) => {
                self.documents += 1;
                self.last_end = end;
                return;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => return,
            _ => {}
        }
        if self.documents > 1 {
            // only an empty later document (`---` alone) is harmless
            let empty = matches!(&ev, Event::Scalar(v, ScalarStyle::Plain, 0, None)
                if start == end && v == "~");
            if ev.is_node() && !empty {
                self.doc.extra_documents = true;
            }
            return;
        }
        let is_map = matches!(ev, Event::MappingStart(..));
        if let Some(parent) = self.stack.last_mut() {
            if ev.is_node() {
                parent.1 += 1;
            }
        }
        match ev {
            Event::Anchor(id, name) => {
                let idx = self.doc.nodes.len().saturating_sub(1) as NodeId;
                self.anchor_names.insert(id, name.to_string());
                if let Some(n) = self.doc.nodes.last_mut() {
                    n.flags |= ANCHORED;
                }
                self.doc.anchors.insert(idx, name.into_owned());
            }
            Event::Scalar(value, style, _anchor, tag) => self.scalar(value, style, tag, start, end),
            Event::Alias(id) => {
                let name = self.anchor_names.get(&id).cloned().unwrap_or_default();
                self.doc.alias_names.push(name);
                let aux = (self.doc.alias_names.len() - 1) as u32;
                self.push(start, end, NodeKind::Alias, 0, aux);
                self.last_end = end;
            }
            Event::SequenceStart(style, _, tag) | Event::MappingStart(style, _, tag) => {
                self.open(is_map, style, tag, start)
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(end),
            _ => {}
        }
    }

    fn push(&mut self, start: usize, end: usize, kind: NodeKind, flags: u8, aux: u32) {
        self.doc.nodes.push(Node {
            start: start as u32,
            end: end as u32,
            kind,
            flags,
            size: 1,
            aux,
        });
    }

    fn tag(&mut self, tag: Option<std::borrow::Cow<'_, granit_parser::Tag>>) -> u8 {
        match tag {
            Some(t) => {
                let idx = self.doc.nodes.len() as NodeId;
                self.doc.tags.insert(idx, tag_string(&t));
                TAGGED
            }
            None => 0,
        }
    }

    fn scalar(
        &mut self,
        value: std::borrow::Cow<'_, str>,
        style: ScalarStyle,
        tag: Option<std::borrow::Cow<'_, granit_parser::Tag>>,
        start: usize,
        end: usize,
    ) {
        let kind = match style {
            ScalarStyle::Plain => NodeKind::Plain,
            ScalarStyle::SingleQuoted => NodeKind::Single,
            ScalarStyle::DoubleQuoted => NodeKind::Double,
            ScalarStyle::Literal => NodeKind::Literal,
            _ => NodeKind::Folded,
        };
        let aux = if start == end && kind == NodeKind::Plain {
            // an empty value: the source text "" resolves to null already
            0
        } else if self.text.get(start..end) == Some(value.as_ref()) {
            0
        } else {
            self.doc.decoded.push(value.into_owned());
            self.doc.decoded.len() as u32
        };
        let flags = self.tag(tag);
        self.push(start, end, kind, flags, aux);
        self.last_end = end;
    }

    fn open(
        &mut self,
        is_map: bool,
        style: StructureStyle,
        tag: Option<std::borrow::Cow<'_, granit_parser::Tag>>,
        start: usize,
    ) {
        let kind = match (is_map, style) {
            (true, StructureStyle::Block) => NodeKind::BlockMap,
            (true, StructureStyle::Flow) => NodeKind::FlowMap,
            (false, StructureStyle::Block) => NodeKind::BlockSeq,
            (false, StructureStyle::Flow) => NodeKind::FlowSeq,
        };
        let idx = self.doc.nodes.len();
        let mut flags = self.tag(tag);
        let mut node_start = start;
        match kind {
            NodeKind::BlockSeq => match find_dash(self.text, self.last_end) {
                Some(d) => {
                    node_start = d;
                    self.last_end = d + 1;
                }
                None => flags |= ODD,
            },
            NodeKind::FlowMap | NodeKind::FlowSeq => self.last_end = start + 1,
            _ => {}
        }
        self.push(node_start, node_start, kind, flags, 0);
        self.stack.push((idx, 0));
    }

    fn close(&mut self, end: usize) {
        let (idx, count) = self.stack.pop().expect("balanced events");
        let size = (self.doc.nodes.len() - idx) as u32;
        let n = &mut self.doc.nodes[idx];
        n.size = size;
        n.aux = count;
        if n.kind.is_block() {
            n.end = self.last_end as u32;
        } else {
            n.end = end as u32;
            self.last_end = end;
        }
    }
}

fn tag_string(t: &granit_parser::Tag) -> String {
    format!("{}{}", t.handle(), t.suffix())
}

/// Children of a collection, in order (for a mapping: key, value, key, value, …).
pub(crate) struct Children<'d> {
    nodes: &'d [Node],
    next: usize,
    left: u32,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let id = self.next;
        self.next += self.nodes[id].size as usize;
        Some(id as NodeId)
    }
}

/// Changes laid over a document: what its data becomes after an edit (see `edit.rs`).
pub(crate) trait Overlay {
    /// The node's data is replaced by this value.
    fn replaced(&self, id: NodeId) -> Option<&Value>;
    /// The sequence item, or the mapping pair whose value this is, is gone.
    fn deleted(&self, id: NodeId) -> bool;
    /// Items or pairs added at the end of this collection.
    fn appended(&self, id: NodeId) -> &[Appended];
}

#[derive(Debug, Clone)]
pub(crate) enum Appended {
    Item(Value),
    Pair(String, Value),
}

pub(crate) struct NoOverlay;

impl Overlay for NoOverlay {
    fn replaced(&self, _: NodeId) -> Option<&Value> {
        None
    }
    fn deleted(&self, _: NodeId) -> bool {
        false
    }
    fn appended(&self, _: NodeId) -> &[Appended] {
        &[]
    }
}

/// One step of a document's data, in order: what two texts must agree on to mean the same.
#[derive(Debug, Clone)]
pub(crate) enum DataEv<'a> {
    MapStart(Option<&'a str>, Option<&'a str>),
    MapEnd,
    SeqStart(Option<&'a str>, Option<&'a str>),
    SeqEnd,
    /// value, anchor, tag
    Scalar(Resolved<'a>, Option<&'a str>, Option<&'a str>),
    Alias(&'a str),
}

impl DataEv<'_> {
    pub(crate) fn same(&self, other: &DataEv<'_>) -> bool {
        match (self, other) {
            (DataEv::MapStart(a, t), DataEv::MapStart(b, u))
            | (DataEv::SeqStart(a, t), DataEv::SeqStart(b, u)) => a == b && t == u,
            (DataEv::MapEnd, DataEv::MapEnd) | (DataEv::SeqEnd, DataEv::SeqEnd) => true,
            (DataEv::Scalar(v, a, t), DataEv::Scalar(w, b, u)) => v.same(w) && a == b && t == u,
            (DataEv::Alias(a), DataEv::Alias(b)) => a == b,
            _ => false,
        }
    }
}

/// Expanding aliases may not grow a document beyond this many nodes (billion laughs).
const EXPANSION_BUDGET: usize = 4_000_000;

fn resolve_tagged<'a>(value: &'a str, kind: NodeKind, tag: Option<&str>) -> Resolved<'a> {
    match tag {
        None if kind == NodeKind::Plain => resolve_plain(value),
        None => Resolved::Str(value),
        Some(t) => match t.strip_prefix("tag:yaml.org,2002:") {
            Some("int" | "float" | "bool" | "null") => resolve_plain(value),
            Some("timestamp") => Resolved::Timestamp(value),
            _ => Resolved::Str(value),
        },
    }
}

impl Document {
    pub(crate) fn root(&self) -> Option<NodeId> {
        (!self.nodes.is_empty()).then_some(0)
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn children(&self, id: NodeId) -> Children<'_> {
        let n = &self.nodes[id as usize];
        let left = if n.kind.is_map() || n.kind.is_seq() {
            n.aux
        } else {
            0
        };
        Children {
            nodes: &self.nodes,
            next: id as usize + 1,
            left,
        }
    }

    /// (key, value) pairs of a mapping.
    pub(crate) fn pairs(&self, map: NodeId) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        let mut it = self.children(map);
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }

    /// The value of a scalar after escapes and folding.
    pub(crate) fn scalar(&self, id: NodeId) -> &str {
        let n = &self.nodes[id as usize];
        if !n.kind.is_scalar() {
            return "";
        }
        match n.aux {
            0 => &self.text[n.start as usize..n.end as usize],
            i => &self.decoded[i as usize - 1],
        }
    }

    pub(crate) fn resolve(&self, id: NodeId) -> Resolved<'_> {
        let id = self.deref(id);
        let n = &self.nodes[id as usize];
        resolve_tagged(self.scalar(id), n.kind, self.tag(id))
    }

    /// A scalar that kubectl reads as a string.
    pub(crate) fn as_str(&self, id: NodeId) -> Option<&str> {
        let id = self.deref(id);
        if !self.nodes[id as usize].kind.is_scalar() {
            return None;
        }
        match self.resolve(id) {
            Resolved::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` in a mapping (the last one when a key repeats, as kubectl),
    /// following aliases and `<<` merge keys as go-yaml v2 does.
    pub(crate) fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.get_depth(map, key, 0)
    }

    fn get_depth(&self, map: NodeId, key: &str, depth: usize) -> Option<NodeId> {
        let map = self.deref(map);
        if !self.nodes[map as usize].kind.is_map() || depth > 32 {
            return None;
        }
        if !self.has_aliases() {
            return self
                .pairs(map)
                .filter(|(k, _)| self.key_is(*k, key))
                .map(|(_, v)| v)
                .last();
        }
        let mut found = None;
        for (k, v) in self.pairs(map) {
            if self.key_is(k, key) {
                found = Some(self.deref(v));
            } else if self.is_merge_key(k) {
                let v = self.deref(v);
                let sources: Vec<NodeId> = if self.nodes[v as usize].kind.is_seq() {
                    // earlier mappings in a merge list take precedence
                    let mut s: Vec<NodeId> = self.children(v).collect();
                    s.reverse();
                    s
                } else {
                    vec![v]
                };
                for src in sources {
                    if let Some(x) = self.get_depth(src, key, depth + 1) {
                        found = Some(x);
                    }
                }
            }
        }
        found
    }

    /// The value written under `key` in this very mapping (no aliases followed, no merges).
    pub(crate) fn get_raw(&self, map: NodeId, key: &str) -> Option<NodeId> {
        if !self.nodes[map as usize].kind.is_map() {
            return None;
        }
        self.pairs(map)
            .filter(|(k, _)| self.key_is(*k, key))
            .map(|(_, v)| v)
            .last()
    }

    /// Whether a mapping's data comes partly from elsewhere (an alias, an anchor others may
    /// use, or a `<<` merge): such a value is changed as a whole, not key by key.
    pub(crate) fn is_shared(&self, id: NodeId) -> bool {
        let n = &self.nodes[id as usize];
        n.kind == NodeKind::Alias
            || self.anchor(id).is_some()
            || (n.kind.is_map() && self.pairs(id).any(|(k, _)| self.is_merge_key(k)))
    }

    /// Whether a mapping has a `<<` merge key.
    pub(crate) fn has_merge(&self, map: NodeId) -> bool {
        self.nodes[map as usize].kind.is_map() && self.pairs(map).any(|(k, _)| self.is_merge_key(k))
    }

    fn is_merge_key(&self, k: NodeId) -> bool {
        self.nodes[k as usize].kind == NodeKind::Plain
            && self.tag(k).is_none()
            && self.scalar(k) == "<<"
    }

    /// The node itself, or for an alias the node its anchor names.
    pub(crate) fn deref(&self, id: NodeId) -> NodeId {
        let mut cur = id;
        for _ in 0..32 {
            if self.nodes[cur as usize].kind != NodeKind::Alias {
                return cur;
            }
            match self.alias_target(cur) {
                Some(t) => cur = t,
                None => return cur,
            }
        }
        cur
    }

    pub(crate) fn key_is(&self, k: NodeId, key: &str) -> bool {
        self.nodes[k as usize].kind.is_scalar() && self.scalar(k) == key
    }

    pub(crate) fn anchor(&self, id: NodeId) -> Option<&str> {
        if self.nodes[id as usize].flags & ANCHORED == 0 {
            return None;
        }
        self.anchors.get(&id).map(String::as_str)
    }

    pub(crate) fn tag(&self, id: NodeId) -> Option<&str> {
        if self.nodes[id as usize].flags & TAGGED == 0 {
            return None;
        }
        self.tags.get(&id).map(String::as_str)
    }

    /// A block sequence whose layout this module could not map out.
    pub(crate) fn is_odd(&self, id: NodeId) -> bool {
        self.nodes[id as usize].flags & ODD != 0
    }

    pub(crate) fn alias_name(&self, id: NodeId) -> &str {
        &self.alias_names[self.nodes[id as usize].aux as usize]
    }

    pub(crate) fn has_anchors(&self) -> bool {
        !self.anchors.is_empty()
    }

    pub(crate) fn has_aliases(&self) -> bool {
        !self.alias_names.is_empty()
    }

    /// The node an alias refers to: the last definition of its anchor before it.
    fn alias_target(&self, alias: NodeId) -> Option<NodeId> {
        let name = self.alias_name(alias);
        self.anchors
            .iter()
            .filter(|(id, n)| **id < alias && n.as_str() == name)
            .map(|(id, _)| *id)
            .max()
    }

    /// The data of a node as JSON (aliases expanded, `<<` merged), as kubectl sees it.
    pub(crate) fn to_json(&self, id: NodeId) -> Result<Value, String> {
        self.json_with(id, &NoOverlay)
    }

    /// The data of a node with an overlay of changes applied.
    pub(crate) fn json_with(&self, id: NodeId, overlay: &dyn Overlay) -> Result<Value, String> {
        let mut budget = EXPANSION_BUDGET;
        self.json_inner(id, overlay, &mut budget, 0)
    }

    fn json_inner(
        &self,
        id: NodeId,
        ov: &dyn Overlay,
        budget: &mut usize,
        depth: usize,
    ) -> Result<Value, String> {
        if let Some(v) = ov.replaced(id) {
            return Ok(v.clone());
        }
        if *budget == 0 || depth > 512 {
            return Err("aliases expand beyond a sane size".into());
        }
        *budget -= 1;
        let n = self.nodes[id as usize];
        Ok(match n.kind {
            NodeKind::Alias => {
                let target = self
                    .alias_target(id)
                    .ok_or_else(|| format!("unknown alias *{}", self.alias_name(id)))?;
                self.json_inner(target, &NoOverlay, budget, depth + 1)?
            }
            k if k.is_scalar() => self.resolve(id).to_json(),
            k if k.is_seq() => {
                let mut out = Vec::new();
                for c in self.children(id) {
                    if !ov.deleted(c) {
                        out.push(self.json_inner(c, ov, budget, depth + 1)?);
                    }
                }
                for a in ov.appended(id) {
                    if let Appended::Item(v) = a {
                        out.push(v.clone());
                    }
                }
                Value::Array(out)
            }
            _ => {
                let mut out = Map::new();
                for (k, v) in self.pairs(id) {
                    if ov.deleted(v) {
                        continue;
                    }
                    let val = self.json_inner(v, ov, budget, depth + 1)?;
                    let kn = self.nodes[k as usize];
                    if kn.kind == NodeKind::Plain && self.tag(k).is_none() && self.scalar(k) == "<<"
                    {
                        merge_into(&mut out, val)?;
                        continue;
                    }
                    let key = match self.json_inner(k, &NoOverlay, budget, depth + 1)? {
                        Value::String(s) => s,
                        Value::Null => "null".into(),
                        other => other.to_string(),
                    };
                    out.insert(key, val);
                }
                for a in ov.appended(id) {
                    if let Appended::Pair(k, v) = a {
                        out.insert(k.clone(), v.clone());
                    }
                }
                Value::Object(out)
            }
        })
    }

    /// Whether the file is plain block YAML whose root mapping can be read one top-level key
    /// at a time: a block mapping at column 0, with no anchors, aliases, tags, directives or
    /// document markers after the first line.
    pub(crate) fn regions_independent(&self) -> bool {
        let Some(root) = self.root() else {
            return false;
        };
        let r = self.nodes[root as usize];
        let before = &self.text[..r.start as usize];
        r.kind == NodeKind::BlockMap
            && (before.is_empty() || before.ends_with('\n') || before == "\u{feff}")
            && !self.has_anchors()
            && !self.has_aliases()
            && self.tags.is_empty()
            && !self.extra_documents
            && !self.text.starts_with('%')
            && !self.text.contains("\n%")
            && !self.text.contains("\n---")
            && !self.text.contains("\n...")
    }

    /// Streams the data of the root mapping restricted to its pairs `first..=last` (and the
    /// pairs appended after them when `last` is the last), as one mapping.
    pub(crate) fn walk_root_pairs(
        &self,
        first: usize,
        last: usize,
        ov: &dyn Overlay,
        sink: &mut dyn FnMut(DataEv<'_>) -> bool,
    ) -> bool {
        let Some(root) = self.root() else {
            return false;
        };
        if !sink(DataEv::MapStart(None, None)) {
            return false;
        }
        let pairs: Vec<(NodeId, NodeId)> = self.pairs(root).collect();
        for (k, v) in &pairs[first..=last] {
            if ov.deleted(*v) {
                continue;
            }
            if !self.walk(*k, &NoOverlay, sink) || !self.walk(*v, ov, sink) {
                return false;
            }
        }
        if last + 1 == pairs.len() {
            for a in ov.appended(root) {
                if let Appended::Pair(k, v) = a {
                    if !sink(DataEv::Scalar(Resolved::Str(k), None, None)) || !walk_value(v, sink) {
                        return false;
                    }
                }
            }
        }
        sink(DataEv::MapEnd)
    }

    /// Streams the data of a node with an overlay applied; `sink` returns false to stop.
    /// Returns false when the sink stopped.
    pub(crate) fn walk(
        &self,
        id: NodeId,
        ov: &dyn Overlay,
        sink: &mut dyn FnMut(DataEv<'_>) -> bool,
    ) -> bool {
        if let Some(v) = ov.replaced(id) {
            return walk_value(v, sink);
        }
        let n = self.nodes[id as usize];
        let (anchor, tag) = (self.anchor(id), self.tag(id));
        match n.kind {
            NodeKind::Alias => sink(DataEv::Alias(self.alias_name(id))),
            k if k.is_scalar() => sink(DataEv::Scalar(self.resolve(id), anchor, tag)),
            k if k.is_seq() => {
                if !sink(DataEv::SeqStart(anchor, tag)) {
                    return false;
                }
                for c in self.children(id) {
                    if !ov.deleted(c) && !self.walk(c, ov, sink) {
                        return false;
                    }
                }
                for a in ov.appended(id) {
                    if let Appended::Item(v) = a {
                        if !walk_value(v, sink) {
                            return false;
                        }
                    }
                }
                sink(DataEv::SeqEnd)
            }
            _ => {
                if !sink(DataEv::MapStart(anchor, tag)) {
                    return false;
                }
                for (k, v) in self.pairs(id) {
                    if ov.deleted(v) {
                        continue;
                    }
                    if !self.walk(k, &NoOverlay, sink) || !self.walk(v, ov, sink) {
                        return false;
                    }
                }
                for a in ov.appended(id) {
                    if let Appended::Pair(k, v) = a {
                        if !sink(DataEv::Scalar(Resolved::Str(k), None, None))
                            || !walk_value(v, sink)
                        {
                            return false;
                        }
                    }
                }
                sink(DataEv::MapEnd)
            }
        }
    }

    /// Byte offset of the start of the line holding `pos`.
    pub(crate) fn line_start(&self, pos: usize) -> usize {
        self.text[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    /// Byte offset of the end of the line holding `pos` (its `\n`, or the end of the text).
    pub(crate) fn line_end(&self, pos: usize) -> usize {
        self.text[pos..]
            .find('\n')
            .map_or(self.text.len(), |i| pos + i)
    }

    /// Column (in bytes from the line start) of `pos`; a BOM at the start of the file takes
    /// no column.
    pub(crate) fn col(&self, pos: usize) -> usize {
        let ls = self.line_start(pos);
        let ls = if ls == 0 && self.text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8().min(pos)
        } else {
            ls
        };
        pos - ls
    }
}

/// yaml.v2 merge: the merged mapping's keys are set (later explicit keys override them).
fn merge_into(out: &mut Map<String, Value>, val: Value) -> Result<(), String> {
    match val {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k, v);
            }
            Ok(())
        }
        Value::Array(items) => {
            for it in items {
                merge_into(out, it)?;
            }
            Ok(())
        }
        _ => Err("a `<<` merge key needs a mapping or a list of mappings".into()),
    }
}

/// Streams a JSON value as data events.
pub(crate) fn walk_value(v: &Value, sink: &mut dyn FnMut(DataEv<'_>) -> bool) -> bool {
    match v {
        Value::Null => sink(DataEv::Scalar(Resolved::Null, None, None)),
        Value::Bool(b) => sink(DataEv::Scalar(Resolved::Bool(*b), None, None)),
        Value::Number(n) => {
            let r = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Resolved::Int(i as i128),
                (_, Some(u), _) => Resolved::Int(u as i128),
                (_, _, Some(f)) => Resolved::Float(f),
                _ => Resolved::Null,
            };
            sink(DataEv::Scalar(r, None, None))
        }
        Value::String(s) => sink(DataEv::Scalar(Resolved::Str(s), None, None)),
        Value::Array(a) => {
            sink(DataEv::SeqStart(None, None))
                && a.iter().all(|x| walk_value(x, sink))
                && sink(DataEv::SeqEnd)
        }
        Value::Object(m) => {
            sink(DataEv::MapStart(None, None))
                && m.iter().all(|(k, x)| {
                    sink(DataEv::Scalar(Resolved::Str(k), None, None)) && walk_value(x, sink)
                })
                && sink(DataEv::MapEnd)
        }
    }
}

/// The data events of a text being verified.
struct NewEvents<'t> {
    parser: Parser<'t, granit_parser::StrInput<'t>>,
    documents: usize,
    anchor_names: HashMap<usize, String>,
}

impl<'t> NewEvents<'t> {
    /// The next data event of the first document; None at its end.
    fn next(&mut self) -> Result<Option<OwnedEv<'t>>, String> {
        loop {
            let Some(item) = self.parser.next_event() else {
                return Ok(None);
            };
            let (ev, _) = item.map_err(|e| syntax_error(&e).to_string())?;
            match ev {
                Event::DocumentStart(..) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Ok(None);
                    }
                }
                Event::StreamStart | Event::DocumentEnd | Event::Anchor(..) => {}
                Event::StreamEnd => return Ok(None),
                Event::UnresolvedAlias(n) => return Err(format!("unknown alias *{n}")),
                Event::Alias(id) => {
                    return Ok(Some(OwnedEv::Alias(
                        self.anchor_names.get(&id).cloned().unwrap_or_default(),
                    )))
                }
                Event::MappingEnd => return Ok(Some(OwnedEv::MapEnd)),
                Event::SequenceEnd => return Ok(Some(OwnedEv::SeqEnd)),
                ev => {
                    // a node: its anchor's name follows as an Anchor event
                    let anchor = match self.parser.peek() {
                        Some(Ok((Event::Anchor(id, name), _))) => {
                            self.anchor_names.insert(*id, name.to_string());
                            Some(name.to_string())
                        }
                        _ => None,
                    };
                    let tag = ev.tag().map(tag_string);
                    return Ok(Some(match ev {
                        Event::MappingStart(..) => OwnedEv::MapStart(anchor, tag),
                        Event::SequenceStart(..) => OwnedEv::SeqStart(anchor, tag),
                        Event::Scalar(v, style, ..) => {
                            let kind = match style {
                                ScalarStyle::Plain => NodeKind::Plain,
                                _ => NodeKind::Double,
                            };
                            OwnedEv::Scalar(v, kind, anchor, tag)
                        }
                        _ => continue,
                    }));
                }
            }
        }
    }
}

/// Receives data events; returns false to stop.
pub(crate) type Sink<'s> = dyn FnMut(DataEv<'_>) -> bool + 's;

/// Checks that `text` parses to exactly the data `expected` streams; the reason when not.
pub(crate) fn verify_text(
    text: &str,
    expected: &mut dyn FnMut(&mut Sink<'_>) -> bool,
) -> Result<(), String> {
    let mut new = NewEvents {
        parser: Parser::new_from_str_with_options(text, parser_options()),
        documents: 0,
        anchor_names: HashMap::new(),
    };
    let mut error: Option<String> = None;
    let mut count = 0usize;
    let completed = expected(&mut |want: DataEv<'_>| {
        count += 1;
        match new.next() {
            Ok(Some(got)) => {
                if got.as_ev().same(&want) {
                    true
                } else {
                    error = Some(format!(
                        "data item {count} differs: expected {want:?}, found {:?}",
                        got.as_ev()
                    ));
                    false
                }
            }
            Ok(None) => {
                error = Some(format!("data ends early: expected {want:?}"));
                false
            }
            Err(e) => {
                error = Some(e);
                false
            }
        }
    });
    if !completed {
        return Err(error.unwrap_or_else(|| "data differs".into()));
    }
    match new.next() {
        Ok(None) => Ok(()),
        Ok(Some(extra)) => Err(format!("unexpected data: {:?}", extra.as_ev())),
        Err(e) => Err(e),
    }
}

/// A data event of the text being verified (scalars borrow from that text when they can).
#[derive(Debug)]
enum OwnedEv<'t> {
    MapStart(Option<String>, Option<String>),
    MapEnd,
    SeqStart(Option<String>, Option<String>),
    SeqEnd,
    Scalar(
        std::borrow::Cow<'t, str>,
        NodeKind,
        Option<String>,
        Option<String>,
    ),
    Alias(String),
}

impl OwnedEv<'_> {
    fn as_ev(&self) -> DataEv<'_> {
        match self {
            OwnedEv::MapStart(a, t) => DataEv::MapStart(a.as_deref(), t.as_deref()),
            OwnedEv::MapEnd => DataEv::MapEnd,
            OwnedEv::SeqStart(a, t) => DataEv::SeqStart(a.as_deref(), t.as_deref()),
            OwnedEv::SeqEnd => DataEv::SeqEnd,
            OwnedEv::Scalar(v, k, a, t) => DataEv::Scalar(
                resolve_tagged(v, *k, t.as_deref()),
                a.as_deref(),
                t.as_deref(),
            ),
            OwnedEv::Alias(n) => DataEv::Alias(n),
        }
    }
}
