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

use super::compat;
use serde_json::{Map, Value};

pub(crate) type NodeId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum NodeKind {
    Plain = 0,
    Single = 1,
    Double = 2,
    Literal = 3,
    Folded = 4,
    BlockMap = 5,
    FlowMap = 6,
    BlockSeq = 7,
    FlowSeq = 8,
    Alias = 9,
}

impl NodeKind {
    fn from_bits(b: u32) -> Self {
        match b {
            0 => Self::Plain,
            1 => Self::Single,
            2 => Self::Double,
            3 => Self::Literal,
            4 => Self::Folded,
            5 => Self::BlockMap,
            6 => Self::FlowMap,
            7 => Self::BlockSeq,
            8 => Self::FlowSeq,
            _ => Self::Alias,
        }
    }

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
/// A scalar whose value differs from its source text (quoted, escaped, folded): in `decoded`.
/// On a block collection (the bit is free there): its end is kept in `block_ends`, not its last
/// descendant's (its last child is a flow collection, which ends after its last descendant).
const DECODED: u8 = 8;
const END_KEPT: u8 = 8;

/// A node as the rest of kctx sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    /// Byte range in the text. A block sequence starts at its first `-`, a block mapping at
    /// its first key; a block collection ends where its last descendant ends. An empty value
    /// (`key:` with nothing after it) is a zero-width plain scalar.
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) kind: NodeKind,
}

/// A node as stored: 6 bytes (a kubeconfig of 20,000 contexts has up to two million nodes,
/// and memory is meant to stay within three times the file). What the word does not hold is
/// derived or kept aside: a block collection's end is its last descendant's; a flow
/// collection's end, a decoded value, an alias's name and lengths or sizes of 255 and more
/// are in small side tables.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed)]
struct Slot {
    start: u32,
    /// kind (4 bits) | flags (4 bits) | payload (8 bits): a scalar's or alias's length in
    /// bytes, a collection's subtree size (itself included); [`BIG`] when it does not fit.
    word: u16,
}

const PAYLOAD_SHIFT: u32 = 8;
const BIG: u32 = (1 << 8) - 1;

impl Slot {
    fn new(start: usize, kind: NodeKind, flags: u8) -> Self {
        Self {
            start: start as u32,
            word: kind as u16 | (flags as u16) << 4,
        }
    }
    fn start(self) -> u32 {
        self.start
    }
    fn kind(self) -> NodeKind {
        NodeKind::from_bits(u32::from(self.word) & 0xf)
    }
    fn flags(self) -> u8 {
        ((self.word >> 4) & 0xf) as u8
    }
    fn payload(self) -> u32 {
        u32::from(self.word) >> PAYLOAD_SHIFT
    }
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

pub(crate) use super::compat::SyntaxError;

/// A parsed document (the first of the file; see `extra_documents`).
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) text: String,
    nodes: Vec<Slot>,
    /// Lengths and sizes that do not fit a slot's word.
    big: HashMap<NodeId, u32>,
    /// Flow collections' ends, in node order.
    flow_ends: Vec<(NodeId, u32)>,
    /// Block collections' ends that are not their last descendant's, in node order.
    block_ends: Vec<(NodeId, u32)>,
    decoded: Vec<String>,
    /// Decoded scalars' values (index into `decoded`), in node order.
    decoded_of: Vec<(NodeId, u32)>,
    /// Aliases' names (index into `alias_names`), in node order.
    alias_of: Vec<(NodeId, u32)>,
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
    // as go-yaml: a block scalar at the end of a file without a final line break has none
    o.block_scalar_eof_without_line_feed = true;
    // go-yaml accepts only `%YAML 1.1` and `%TAG`; kubeconfigs use neither
    o.disallow_directives = true;
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
        compat::check_text(&text)?;
        let mut b = Builder {
            doc: Document {
                text: String::new(),
                // enough for any real file at once (untouched capacity costs no memory), so
                // that growing never holds two copies
                nodes: Vec::with_capacity(text.len() / 4 + 16),
                big: HashMap::new(),
                flow_ends: Vec::new(),
                block_ends: Vec::new(),
                decoded: Vec::new(),
                decoded_of: Vec::new(),
                alias_of: Vec::new(),
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
            b.event(ev, start, end)
                .map_err(|(pos, message)| compat::error_at(&text, pos, message))?;
        }
        let mut doc = b.doc;
        doc.block_ends.sort_unstable();
        doc.text = text;
        if doc.has_aliases() {
            doc.check_aliases()?;
        }
        Ok(doc)
    }
}

/// A collection being built.
struct Open {
    idx: usize,
    /// Children so far.
    count: u32,
    /// A key that is not a string: the keys are checked for collisions at the end.
    typed_keys: bool,
}

/// Where a check failed (a byte offset) and why.
type Refusal = (usize, String);

/// Builds the flat node tree from the parser's events, refusing what go-yaml reads otherwise
/// (see [`compat`]).
struct Builder<'t> {
    doc: Document,
    text: &'t str,
    anchor_names: HashMap<usize, String>,
    /// Open collections.
    stack: Vec<Open>,
    documents: usize,
    /// Where the last node seen ends (a block collection ends where its last child does).
    last_end: usize,
}

impl Builder<'_> {
    fn event(&mut self, ev: Event<'_>, start: usize, end: usize) -> Result<(), Refusal> {
        match &ev {
            Event::DocumentStart(..) => {
                self.documents += 1;
                self.last_end = end;
                return Ok(());
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => return Ok(()),
            _ => {}
        }
        if self.documents > 1 {
            // only an empty later document (`---` alone) is harmless
            let empty = matches!(&ev, Event::Scalar(v, ScalarStyle::Plain, 0, None)
                if start == end && v == "~");
            if ev.is_node() && !empty {
                self.doc.extra_documents = true;
            }
            return Ok(());
        }
        let is_map = matches!(ev, Event::MappingStart(..));
        // whether this node is a mapping's key, and whether it stands in a flow collection
        let (is_key, in_flow) = match self.stack.last_mut() {
            Some(parent) if ev.is_node() => {
                parent.count += 1;
                let kind = self.doc.nodes[parent.idx].kind();
                (kind.is_map() && parent.count % 2 == 1, !kind.is_block())
            }
            Some(parent) => (false, !self.doc.nodes[parent.idx].kind().is_block()),
            None => (false, false),
        };
        match ev {
            Event::Anchor(id, name) => {
                if !compat::anchor_ok(&name) {
                    return Err((
                        start,
                        format!("the anchor name {name:?}, which kubectl's YAML reader refuses (use letters, digits, - and _)"),
                    ));
                }
                let idx = self.doc.nodes.len().saturating_sub(1) as NodeId;
                self.anchor_names.insert(id, name.to_string());
                if let Some(n) = self.doc.nodes.last_mut() {
                    n.word |= (ANCHORED as u16) << 4;
                }
                self.doc.anchors.insert(idx, name.into_owned());
            }
            Event::Scalar(value, style, _anchor, tag) => {
                self.check_scalar(style, start, end, in_flow, is_key)?;
                self.scalar(value, style, tag, start, end);
                if is_key {
                    self.check_key(start)?;
                }
            }
            Event::Alias(id) => {
                let name = self.anchor_names.get(&id).cloned().unwrap_or_default();
                self.doc.alias_names.push(name);
                let aux = (self.doc.alias_names.len() - 1) as u32;
                self.push(start, end, NodeKind::Alias, 0, aux);
                self.last_end = end;
                if is_key {
                    self.mark_typed_key();
                }
            }
            Event::SequenceStart(style, _, tag) | Event::MappingStart(style, _, tag) => {
                if is_key {
                    return Err((
                        start,
                        "a mapping or list as a key, which kubectl's YAML reader refuses".into(),
                    ));
                }
                self.open(is_map, style, tag, start)
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(end)?,
            _ => {}
        }
        Ok(())
    }

    /// A scalar's source that go-yaml reads otherwise: `?` in a flow plain scalar, one that
    /// starts with `:` or is followed by `:` and a flow indicator (`[a:]`), an implicit key
    /// over several lines in flow, `\/` and surrogate escapes.
    fn check_scalar(
        &self,
        style: ScalarStyle,
        start: usize,
        end: usize,
        in_flow: bool,
        is_key: bool,
    ) -> Result<(), Refusal> {
        let source = self.text.get(start..end).unwrap_or("");
        if in_flow && style == ScalarStyle::Plain {
            let after = self.text.get(end..).unwrap_or("");
            let colon_then_indicator =
                after.starts_with(':') && after[1..].starts_with([',', '[', ']', '{', '}']);
            if source.contains('?') || source.starts_with(':') || colon_then_indicator {
                return Err((
                    start,
                    "a `?` or `:` in a plain value inside [ ] or { }, which kubectl's YAML reader reads otherwise (quote the value)".into(),
                ));
            }
        }
        if in_flow && is_key && source.contains('\n') {
            return Err((
                start,
                "a key over several lines inside { }, which kubectl's YAML reader refuses".into(),
            ));
        }
        if style == ScalarStyle::DoubleQuoted {
            if let Some(why) = compat::bad_escape(source) {
                return Err((start, why.into()));
            }
        }
        Ok(())
    }

    /// A null key is refused (kubectl's JSON conversion has no place for it); a key that is
    /// not a string is noted, for the collision check when its mapping closes.
    fn check_key(&mut self, start: usize) -> Result<(), Refusal> {
        let idx = self.doc.nodes.len() - 1;
        match self.resolved(idx) {
            Resolved::Null => Err((
                start,
                "an empty or null key, which kubectl's YAML reader refuses".into(),
            )),
            Resolved::Str(_) => Ok(()),
            _ => {
                self.mark_typed_key();
                Ok(())
            }
        }
    }

    fn mark_typed_key(&mut self) {
        if let Some(parent) = self.stack.last_mut() {
            parent.typed_keys = true;
        }
    }

    /// A built scalar node's value, typed as go-yaml types it.
    fn resolved(&self, idx: usize) -> Resolved<'_> {
        let id = idx as NodeId;
        let n = self.doc.nodes[idx];
        let value = match self.doc.decoded_index(id) {
            None => {
                let start = n.start() as usize;
                self.text
                    .get(start..start + self.doc.payload(id) as usize)
                    .unwrap_or("")
            }
            Some(i) => &self.doc.decoded[i],
        };
        let tag = self.doc.tags.get(&id).map(String::as_str);
        resolve_tagged(value, n.kind(), tag)
    }

    /// Keys of one mapping that become the same JSON key in kubectl's conversion (`1` and
    /// `"1"`, `true` and `"true"`): kubectl keeps one of them at random, so the file is refused.
    fn check_key_collisions(&self, map: usize, count: u32) -> Result<(), Refusal> {
        let mut seen: HashMap<String, u8> = HashMap::new();
        let mut child = map + 1;
        for i in 0..count {
            let n = self.doc.nodes[child];
            if i % 2 == 0 && n.kind().is_scalar() {
                let (key, kind) = match self.resolved(child) {
                    Resolved::Str(s) | Resolved::Timestamp(s) => (s.to_owned(), 0),
                    Resolved::Bool(b) => (b.to_string(), 1),
                    Resolved::Int(v) => (v.to_string(), 2),
                    Resolved::Float(f) => (go_float_key(f), 3),
                    Resolved::Null => ("null".into(), 4),
                };
                if seen.get(&key).is_some_and(|k| *k != kind) {
                    return Err((
                        n.start as usize,
                        format!("two keys that kubectl reads as the same key {key:?} (one of them quoted), of which it keeps one at random"),
                    ));
                }
                seen.insert(key, kind);
            }
            child += self.doc.size(child as NodeId) as usize;
        }
        Ok(())
    }

    /// A scalar or alias ([`Document::decoded_index`] and [`Document::alias_name`] find
    /// `aux` again: 1 + the decoded value's index, or the alias name's).
    fn push(&mut self, start: usize, end: usize, kind: NodeKind, flags: u8, aux: u32) {
        let id = self.doc.nodes.len() as NodeId;
        let mut flags = flags;
        if kind == NodeKind::Alias {
            self.doc.alias_of.push((id, aux));
        } else if aux > 0 {
            flags |= DECODED;
            self.doc.decoded_of.push((id, aux - 1));
        }
        let mut slot = Slot::new(start, kind, flags);
        self.doc.set_payload(&mut slot, id, (end - start) as u32);
        self.doc.nodes.push(slot);
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
        if !kind.is_block() {
            self.doc.flow_ends.push((idx as NodeId, start as u32));
        }
        self.doc.nodes.push(Slot::new(node_start, kind, flags));
        self.stack.push(Open {
            idx,
            count: 0,
            typed_keys: false,
        });
    }

    fn close(&mut self, end: usize) -> Result<(), Refusal> {
        let Open {
            idx,
            count,
            typed_keys,
        } = self.stack.pop().expect("balanced events");
        if typed_keys {
            self.check_key_collisions(idx, count)?;
        }
        let size = (self.doc.nodes.len() - idx) as u32;
        let mut slot = self.doc.nodes[idx];
        self.doc.set_payload(&mut slot, idx as NodeId, size);
        if slot.kind().is_block()
            && self.doc.end((idx as u32 + size - 1) as NodeId) != self.last_end as u32
        {
            slot.word |= (END_KEPT as u16) << 4;
            self.doc
                .block_ends
                .push((idx as NodeId, self.last_end as u32));
        }
        self.doc.nodes[idx] = slot;
        if !slot.kind().is_block() {
            // a flow collection's end is kept; a block one's is its last descendant's
            if let Ok(i) = self
                .doc
                .flow_ends
                .binary_search_by_key(&(idx as NodeId), |(id, _)| *id)
            {
                self.doc.flow_ends[i].1 = end as u32;
            }
            self.last_end = end;
        }
        Ok(())
    }
}

/// A float key as kubectl's JSON conversion spells it (sigs.k8s.io/yaml: `FormatFloat(f, 'g',
/// -1, 32)`), near enough to tell `1.0` and `"1"` apart from `1.5` and `"1"`.
fn go_float_key(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        (f as f32).to_string()
    }
}

impl Document {
    /// go-yaml's "excessive aliasing" rule, counted in its decode order ([`compat::AliasCounter`]),
    /// and its refusal of an alias inside the very node its anchor names.
    fn check_aliases(&self) -> Result<(), SyntaxError> {
        let mut counter = compat::AliasCounter::default();
        let fail = |id: NodeId, message: String| {
            compat::error_at(
                &self.text,
                self.nodes[id as usize].start() as usize,
                message,
            )
        };
        // the document node, then its root
        counter.step(0).map_err(|m| fail(0, m))?;
        let mut work: Vec<(NodeId, u32)> = vec![(0, 0)];
        while let Some((id, depth)) = work.pop() {
            counter.step(depth).map_err(|m| fail(id, m))?;
            match self.kind(id) {
                NodeKind::Alias => {
                    let Some(target) = self.alias_target(id) else {
                        continue;
                    };
                    if target < id && id < target + self.size(target) {
                        return Err(fail(
                            id,
                            format!(
                                "the alias *{} inside the value its anchor names (kubectl refuses it)",
                                self.alias_name(id)
                            ),
                        ));
                    }
                    work.push((target, depth + 1));
                }
                k if k.is_map() => {
                    // pushed in reverse, so that they are taken in document order
                    let pairs: Vec<(NodeId, NodeId)> = self.pairs(id).collect();
                    for (k, v) in pairs.into_iter().rev() {
                        if self.is_merge_key(k) {
                            if self.kind(v).is_seq() {
                                // a merge list: its items are decoded (last to first), not it
                                let items: Vec<NodeId> = self.children(v).collect();
                                work.extend(items.into_iter().map(|i| (i, depth)));
                            } else {
                                work.push((v, depth));
                            }
                        } else {
                            work.push((v, depth));
                            work.push((k, depth));
                        }
                    }
                }
                k if k.is_seq() => {
                    let items: Vec<NodeId> = self.children(id).collect();
                    work.extend(items.into_iter().rev().map(|i| (i, depth)));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn tag_string(t: &granit_parser::Tag) -> String {
    format!("{}{}", t.handle(), t.suffix())
}

/// Children of a collection, in order (for a mapping: key, value, key, value, …).
pub(crate) struct Children<'d> {
    doc: &'d Document,
    next: NodeId,
    end: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next >= self.end {
            return None;
        }
        let id = self.next;
        self.next += self.doc.size(id);
        Some(id)
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
/// ... nor beyond this many bytes of scalars: a few aliases of a large anchored value are not
/// a node bomb, but would still expand a small file to gigabytes.
const EXPANSION_BYTES: usize = 256 << 20;

/// What expanding a node may still produce.
struct Budget {
    nodes: usize,
    bytes: usize,
}

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

    /// A node's place in the text and its kind.
    pub(crate) fn node(&self, id: NodeId) -> Node {
        Node {
            start: self.nodes[id as usize].start(),
            end: self.end(id),
            kind: self.kind(id),
        }
    }

    pub(crate) fn kind(&self, id: NodeId) -> NodeKind {
        self.nodes[id as usize].kind()
    }

    fn flags(&self, id: NodeId) -> u8 {
        self.nodes[id as usize].flags()
    }

    /// A scalar's or alias's length, a collection's subtree size.
    fn payload(&self, id: NodeId) -> u32 {
        match self.nodes[id as usize].payload() {
            BIG => self.big.get(&id).copied().unwrap_or(0),
            v => v,
        }
    }

    fn set_payload(&mut self, slot: &mut Slot, id: NodeId, v: u32) {
        let v = if v >= BIG {
            self.big.insert(id, v);
            BIG
        } else {
            v
        };
        slot.word = (slot.word & ((1 << PAYLOAD_SHIFT) - 1)) | (v << PAYLOAD_SHIFT) as u16;
    }

    /// Nodes in this subtree, itself included.
    pub(crate) fn size(&self, id: NodeId) -> NodeId {
        if self.kind(id).is_scalar() || self.kind(id) == NodeKind::Alias {
            1
        } else {
            self.payload(id).max(1)
        }
    }

    /// Where a node ends in the text.
    fn end(&self, id: NodeId) -> u32 {
        let kind = self.kind(id);
        if kind.is_scalar() || kind == NodeKind::Alias {
            self.nodes[id as usize].start() + self.payload(id)
        } else if kind.is_block() {
            if self.flags(id) & END_KEPT != 0 {
                if let Ok(i) = self.block_ends.binary_search_by_key(&id, |(n, _)| *n) {
                    return self.block_ends[i].1;
                }
            }
            let size = self.size(id);
            if size > 1 {
                self.end(id + size - 1)
            } else {
                self.nodes[id as usize].start()
            }
        } else {
            match self.flow_ends.binary_search_by_key(&id, |(n, _)| *n) {
                Ok(i) => self.flow_ends[i].1,
                Err(_) => self.nodes[id as usize].start(),
            }
        }
    }

    /// A decoded scalar's index into `decoded`.
    fn decoded_index(&self, id: NodeId) -> Option<usize> {
        if self.flags(id) & DECODED == 0 {
            return None;
        }
        self.decoded_of
            .binary_search_by_key(&id, |(n, _)| *n)
            .ok()
            .map(|i| self.decoded_of[i].1 as usize)
    }

    pub(crate) fn children(&self, id: NodeId) -> Children<'_> {
        let kind = self.kind(id);
        let end = if kind.is_map() || kind.is_seq() {
            id + self.size(id)
        } else {
            id + 1
        };
        Children {
            doc: self,
            next: id + 1,
            end,
        }
    }

    /// (key, value) pairs of a mapping.
    pub(crate) fn pairs(&self, map: NodeId) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        let mut it = self.children(map);
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }

    /// The value of a scalar after escapes and folding.
    pub(crate) fn scalar(&self, id: NodeId) -> &str {
        if !self.kind(id).is_scalar() {
            return "";
        }
        match self.decoded_index(id) {
            None => {
                let start = self.nodes[id as usize].start() as usize;
                &self.text[start..start + self.payload(id) as usize]
            }
            Some(i) => &self.decoded[i],
        }
    }

    pub(crate) fn resolve(&self, id: NodeId) -> Resolved<'_> {
        let id = self.deref(id);
        resolve_tagged(self.scalar(id), self.kind(id), self.tag(id))
    }

    /// A scalar that kubectl reads as a string.
    pub(crate) fn as_str(&self, id: NodeId) -> Option<&str> {
        let id = self.deref(id);
        if !self.kind(id).is_scalar() {
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
        if !self.kind(map).is_map() || depth > 32 {
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
                let sources: Vec<NodeId> = if self.kind(v).is_seq() {
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
        if !self.kind(map).is_map() {
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
        let n = self.node(id);
        n.kind == NodeKind::Alias
            || self.anchor(id).is_some()
            || (n.kind.is_map() && self.pairs(id).any(|(k, _)| self.is_merge_key(k)))
    }

    /// Whether a mapping has a `<<` merge key.
    pub(crate) fn has_merge(&self, map: NodeId) -> bool {
        self.kind(map).is_map() && self.pairs(map).any(|(k, _)| self.is_merge_key(k))
    }

    fn is_merge_key(&self, k: NodeId) -> bool {
        self.kind(k) == NodeKind::Plain && self.tag(k).is_none() && self.scalar(k) == "<<"
    }

    /// The node itself, or for an alias the node its anchor names.
    pub(crate) fn deref(&self, id: NodeId) -> NodeId {
        let mut cur = id;
        for _ in 0..32 {
            if self.kind(cur) != NodeKind::Alias {
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
        self.kind(k).is_scalar() && self.scalar(k) == key
    }

    pub(crate) fn anchor(&self, id: NodeId) -> Option<&str> {
        if self.flags(id) & ANCHORED == 0 {
            return None;
        }
        self.anchors.get(&id).map(String::as_str)
    }

    pub(crate) fn tag(&self, id: NodeId) -> Option<&str> {
        if self.flags(id) & TAGGED == 0 {
            return None;
        }
        self.tags.get(&id).map(String::as_str)
    }

    /// A block sequence whose layout this module could not map out.
    pub(crate) fn is_odd(&self, id: NodeId) -> bool {
        self.flags(id) & ODD != 0
    }

    pub(crate) fn alias_name(&self, id: NodeId) -> &str {
        let i = self
            .alias_of
            .binary_search_by_key(&id, |(n, _)| *n)
            .map_or(0, |i| self.alias_of[i].1 as usize);
        self.alias_names.get(i).map_or("", String::as_str)
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
        let mut budget = Budget {
            nodes: EXPANSION_BUDGET,
            bytes: EXPANSION_BYTES,
        };
        self.json_inner(id, overlay, &mut budget, 0)
    }

    fn json_inner(
        &self,
        id: NodeId,
        ov: &dyn Overlay,
        budget: &mut Budget,
        depth: usize,
    ) -> Result<Value, String> {
        if let Some(v) = ov.replaced(id) {
            return Ok(v.clone());
        }
        if budget.nodes == 0 || depth > 512 {
            return Err("aliases expand beyond a sane size".into());
        }
        budget.nodes -= 1;
        let n = self.node(id);
        Ok(match n.kind {
            NodeKind::Alias => {
                let target = self
                    .alias_target(id)
                    .ok_or_else(|| format!("unknown alias *{}", self.alias_name(id)))?;
                self.json_inner(target, &NoOverlay, budget, depth + 1)?
            }
            k if k.is_scalar() => {
                let v = self.resolve(id);
                let len = match &v {
                    Resolved::Str(s) | Resolved::Timestamp(s) => s.len(),
                    _ => 8,
                };
                budget.bytes = budget
                    .bytes
                    .checked_sub(len)
                    .ok_or("aliases expand beyond a sane size")?;
                v.to_json()
            }
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
                    let kn = self.node(k);
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
        let r = self.node(root);
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
        let n = self.node(id);
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
