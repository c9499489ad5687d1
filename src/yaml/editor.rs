//! The YAML text editor: change only the bytes that must change, then prove it. It knows
//! YAML (nodes, spans, layout), nothing of kubeconfigs.
//!
//! Each change is a splice of the original text (a byte range and its replacement) together
//! with what it means for the data (an [`Overlay`]: this node replaced, that item deleted,
//! these pairs appended). [`Editor::finish`] applies the splices and re-parses the result; the
//! new text must stream exactly the data of the old document with the overlay applied. When a
//! change cannot be made in place (anchors or tags on what it touches, duplicate keys, a layout
//! this module cannot map) or the proof fails, the whole file is written anew from the intended
//! data, and the caller says so.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::document::{
    find_dash, verify_text, walk_value, Appended, Document, NodeId, NodeKind, Overlay,
};
use super::emit::{self, Quote, Style};

/// A file's new text, and a note when it had to be rewritten whole.
#[derive(Debug)]
pub struct Edited {
    /// The new text as pieces: ranges of the original text and replacements, so that a
    /// small change to a large file is written out without a second copy of it in memory.
    pieces: Vec<Piece>,
    pub rewrote: Option<String>,
}

#[derive(Debug)]
enum Piece {
    Original(usize, usize),
    New(String),
}

impl Edited {
    /// The whole new text (`original`: the text the edit was made to).
    pub fn text(&self, original: &str) -> String {
        let mut out = String::with_capacity(original.len() + 256);
        for p in &self.pieces {
            match p {
                Piece::Original(a, b) => out.push_str(&original[*a..*b]),
                Piece::New(s) => out.push_str(s),
            }
        }
        out
    }

    /// Writes the new text piece by piece.
    pub(crate) fn write_to(
        &self,
        original: &str,
        w: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        for p in &self.pieces {
            match p {
                Piece::Original(a, b) => w.write_all(&original.as_bytes()[*a..*b])?,
                Piece::New(s) => w.write_all(s.as_bytes())?,
            }
        }
        Ok(())
    }
}

pub(crate) struct Editor<'d> {
    pub(crate) doc: &'d Document,
    pub(crate) style: Style,
    /// (start, end, replacement, the collection an item splice belongs to, and for insertions
    /// at one place the order: deeper containers first, so that an item appended to a list
    /// at the end of the file comes before a key appended to the mapping around it)
    splices: Vec<(usize, usize, String, Option<NodeId>, u32)>,
    replaced: HashMap<NodeId, Value>,
    deleted: HashSet<NodeId>,
    appended: HashMap<NodeId, Vec<Appended>>,
    /// Why the text cannot be edited in place.
    rewrite: Option<String>,
    changed: bool,
    /// Parents found so far.
    parents: HashMap<NodeId, Option<NodeId>>,
    /// Flow collections that lost items or pairs: their insides are rewritten at the end.
    flow_dirty: HashSet<NodeId>,
}

impl Overlay for Editor<'_> {
    fn replaced(&self, id: NodeId) -> Option<&Value> {
        self.replaced.get(&id)
    }
    fn deleted(&self, id: NodeId) -> bool {
        self.deleted.contains(&id)
    }
    fn appended(&self, id: NodeId) -> &[Appended] {
        self.appended.get(&id).map_or(&[], Vec::as_slice)
    }
}

/// Detects how a document lays out its blocks.
pub(crate) fn detect_style(doc: &Document) -> Style {
    let mut st = Style {
        newline: doc.newline,
        ..Style::default()
    };
    let Some(root) = doc.root() else { return st };
    let mut found_indent = false;
    let mut found_seq = false;
    // breadth-first over the first levels is enough: kubeconfigs are shallow and regular
    let mut queue = vec![root];
    let mut seen = 0;
    while let Some(id) = queue.pop() {
        seen += 1;
        if seen > 2000 || (found_indent && found_seq) {
            break;
        }
        let n = doc.node(id);
        if n.kind != NodeKind::BlockMap {
            if n.kind == NodeKind::BlockSeq {
                queue.extend(doc.children(id).take(2));
            }
            continue;
        }
        let kcol = doc.col(n.start as usize);
        for (_, v) in doc.pairs(id) {
            let vn = doc.node(v);
            match vn.kind {
                NodeKind::BlockMap if !found_indent => {
                    let c = doc.col(vn.start as usize);
                    if c > kcol
                        && doc.line_start(vn.start as usize) != doc.line_start(n.start as usize)
                    {
                        st.indent = c - kcol;
                        found_indent = true;
                    }
                }
                NodeKind::BlockSeq if !found_seq && !doc.is_odd(v) => {
                    st.seq_indent = doc.col(vn.start as usize) > kcol;
                    found_seq = true;
                }
                _ => {}
            }
            if vn.kind.is_block() {
                queue.push(v);
            }
        }
    }
    st
}

impl<'d> Editor<'d> {
    pub(crate) fn new(doc: &'d Document) -> Self {
        Self {
            doc,
            style: detect_style(doc),
            splices: Vec::new(),
            replaced: HashMap::new(),
            deleted: HashSet::new(),
            appended: HashMap::new(),
            rewrite: None,
            changed: false,
            parents: HashMap::new(),
            flow_dirty: HashSet::new(),
        }
    }

    fn cannot(&mut self, why: impl Into<String>) {
        if self.rewrite.is_none() {
            self.rewrite = Some(why.into());
        }
    }

    fn splice(&mut self, start: usize, end: usize, text: impl Into<String>) {
        self.splices.push((start, end, text.into(), None, 0));
    }

    /// An insertion of content that belongs inside `container`.
    fn insert_in(&mut self, container: NodeId, at: usize, text: impl Into<String>) {
        let depth = self.depth(container);
        self.splices.push((at, at, text.into(), None, depth));
    }

    /// A splice that adds or removes an item of list `seq`.
    fn item_splice(&mut self, seq: NodeId, start: usize, end: usize, text: impl Into<String>) {
        let depth = self.depth(seq);
        self.splices
            .push((start, end, text.into(), Some(seq), depth));
    }

    /// 1 + the number of ancestors.
    fn depth(&mut self, id: NodeId) -> u32 {
        let mut d = 1;
        let mut cur = self.parent(id);
        while let Some(p) = cur {
            d += 1;
            cur = self.parent(p);
        }
        d
    }

    /// The collection a node is in: found by descending from the root through the child
    /// whose subtree holds it (no table of every node's parent: a large file has millions).
    fn parent(&mut self, id: NodeId) -> Option<NodeId> {
        if let Some(p) = self.parents.get(&id) {
            return *p;
        }
        let doc = self.doc;
        let mut found = None;
        if let Some(root) = doc.root().filter(|r| *r != id) {
            let mut cur = root;
            while let Some(child) = doc
                .children(cur)
                .find(|c| *c <= id && id < *c + doc.size(*c))
            {
                if child == id {
                    found = Some(cur);
                    break;
                }
                cur = child;
            }
        }
        self.parents.insert(id, found);
        found
    }

    /// Whether neither the node nor any of its ancestors carries an anchor: a change there
    /// would also change every alias of it. (Anchors *inside* a replaced or removed node need
    /// no check here: if an alias elsewhere still needs one, the verification fails.)
    fn unshared(&mut self, id: NodeId) -> bool {
        let mut cur = Some(id);
        while let Some(p) = cur {
            if self.doc.anchor(p).is_some() {
                return false;
            }
            cur = self.parent(p);
        }
        true
    }

    /// The file's style, with the quoting the neighbours of `near` use (a mapping's own keys
    /// and values, or a list's first item).
    fn style_near(&self, near: NodeId) -> Style {
        let doc = self.doc;
        let mut keys: Option<Quote> = None;
        let mut values: Option<Quote> = None;
        let mut mixed_keys = false;
        let mut mixed_values = false;
        let quote_of = |id: NodeId| match doc.node(id).kind {
            NodeKind::Single => Some(Quote::Single),
            NodeKind::Double => Some(Quote::Double),
            NodeKind::Plain => Some(Quote::Plain),
            _ => None,
        };
        let note = |slot: &mut Option<Quote>, mixed: &mut bool, q: Option<Quote>| {
            if let Some(q) = q {
                match slot {
                    None => *slot = Some(q),
                    Some(old) if *old != q => *mixed = true,
                    _ => {}
                }
            }
        };
        let start = match doc.node(near).kind {
            k if k.is_seq() => doc.children(near).next(),
            _ => Some(near),
        };
        let mut stack: Vec<NodeId> = start.into_iter().collect();
        let mut seen = 0;
        while let Some(id) = stack.pop() {
            seen += 1;
            if seen > 64 {
                break;
            }
            let n = doc.node(id);
            if n.kind.is_map() {
                for (k, v) in doc.pairs(id) {
                    note(&mut keys, &mut mixed_keys, quote_of(k));
                    let vn = doc.node(v);
                    if vn.kind.is_scalar() {
                        if matches!(doc.resolve(v), super::document::Resolved::Str(_))
                            && vn.start != vn.end
                        {
                            note(&mut values, &mut mixed_values, quote_of(v));
                        }
                    } else if vn.kind.is_map() {
                        stack.push(v);
                    }
                }
            }
        }
        Style {
            key_quote: if mixed_keys {
                Quote::Plain
            } else {
                keys.unwrap_or_default()
            },
            value_quote: if mixed_values {
                Quote::Plain
            } else {
                values.unwrap_or_default()
            },
            ..self.style
        }
    }

    fn indent(&self, col: usize) -> String {
        " ".repeat(col)
    }

    /// Start of the next line after the one holding `pos`; a line break is added at the end
    /// of a file that lacks one.
    fn after_line(&mut self, pos: usize) -> usize {
        if pos > 0 && self.doc.text.as_bytes()[pos - 1] == b'\n' {
            return pos; // ends with a block scalar's line break
        }
        let e = self.doc.line_end(pos);
        if e == self.doc.text.len() {
            if !self
                .splices
                .iter()
                .any(|s| s.0 == e && s.1 == e && s.2 == self.style.newline)
            {
                let nl = self.style.newline;
                self.splices.push((e, e, nl.to_owned(), None, u32::MAX));
            }
            e
        } else {
            e + 1
        }
    }

    /// Where the lines of an item or pair begin: its own line, and the comment lines directly
    /// above it (no blank line between), which are taken to be about it.
    fn region_start(&self, pos: usize) -> usize {
        let mut ls = self.doc.line_start(pos);
        while ls > 0 {
            let prev = self.doc.line_start(ls - 1);
            if self.doc.text[prev..ls].trim_start().starts_with('#') {
                ls = prev;
            } else {
                break;
            }
        }
        ls
    }

    /// Where the line holding `pos` ends, before its `\n` or `\r\n`.
    fn line_content_end(&self, pos: usize) -> usize {
        let e = self.doc.line_end(pos);
        if e > pos && self.doc.text.as_bytes()[e - 1] == b'\r' {
            e - 1
        } else {
            e
        }
    }

    /// Whether `pos` is the first non-blank character of its line.
    fn starts_line(&self, pos: usize) -> bool {
        self.doc.text[self.doc.line_start(pos)..pos]
            .bytes()
            .all(|b| b == b' ')
    }

    /// The `:` after the key of a mapping value, when `id` is one.
    fn colon_before(&mut self, id: NodeId) -> Option<usize> {
        let n = self.doc.node(id);
        let b = self.doc.text.as_bytes();
        if n.start == n.end && b.get(n.start as usize) == Some(&b':') {
            return Some(n.start as usize); // an empty value sits on its key's colon
        }
        let p = self.parent(id)?;
        let (k, _) = self.doc.pairs(p).find(|(_, v)| *v == id)?;
        let mut i = self.doc.node(k).end as usize;
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        (b.get(i) == Some(&b':')).then_some(i)
    }

    /// Replaces the data of `id` (whose parent is `parent`) with `v`.
    pub(crate) fn set(&mut self, id: NodeId, v: &Value) {
        if self.doc.to_json(id).as_ref() == Ok(v) {
            return;
        }
        self.changed = true;
        if !self.unshared(id) {
            self.cannot("the value being changed is shared through a YAML anchor");
        }
        self.replaced.insert(id, v.clone());
        let n = self.doc.node(id);
        let (start, end) = (n.start as usize, n.end as usize);
        let parent = self.parent(id).map(|p| self.doc.node(p));
        let in_block = parent.is_none_or(|p| p.kind.is_block());
        let st = self.style;
        match (n.kind, emit::inline(v, &st)) {
            // one scalar (or empty collection) for another
            (k, Some(text)) if k.is_scalar() || !k.is_block() => {
                if start == end {
                    match self.colon_before(id) {
                        Some(c) => self.splice(c + 1, c + 1, format!(" {text}")),
                        None => self.cannot("an empty value in an unusual place"),
                    }
                    return;
                }
                let old_value = self.doc.scalar(id);
                // quotes the old value needed (`"on"`, `"123"`) were not a choice: a value
                // that needs none is written as the file writes it (so `use X; use -` is a
                // byte-for-byte round trip); quotes that were a choice are kept
                let chosen = !old_value.is_empty()
                    && emit::inline(&Value::String(old_value.to_owned()), &st)
                        .is_some_and(|t| !t.starts_with(['"', '\'']));
                let text = match (n.kind, v) {
                    (NodeKind::Single, Value::String(s)) if chosen => {
                        emit::single_quoted(s).unwrap_or(text)
                    }
                    (NodeKind::Double, Value::String(s)) if chosen => emit::double_quoted(s),
                    (NodeKind::Literal | NodeKind::Folded, _) => {
                        self.cannot("a block scalar is being changed");
                        text
                    }
                    _ => text,
                };
                self.splice(start, end, text);
            }
            // a block collection becomes a scalar or an empty collection
            (_, Some(text)) => match self.colon_before(id) {
                Some(c) => self.splice(c + 1, end, format!(" {text}")),
                None => self.cannot("a block value without a key before it"),
            },
            // a block collection becomes another collection, in place
            (k, None) if k.is_block() => {
                if self.doc.is_odd(id) {
                    self.cannot("a list whose layout could not be mapped");
                    return;
                }
                let col = self.doc.col(start);
                let text = emit::block(v, col, &self.style_near(id));
                self.splice(start, end, text);
            }
            // a scalar or flow value becomes a non-empty collection
            (_, None) => {
                if !in_block {
                    let st = self.style_near(id);
                    self.splice(start, end, emit::flow(v, &st));
                    return;
                }
                let (Some(p), Some(c)) = (parent, self.colon_before(id)) else {
                    self.cannot("a value without a key before it");
                    return;
                };
                let pcol = self.doc.col(p.start as usize);
                let col = match v {
                    Value::Array(_) if !self.style.seq_indent => pcol,
                    _ => pcol + self.style.indent,
                };
                self.splice(c + 1, end.max(c + 1), "");
                let at = self.line_content_end(end.max(c + 1));
                let pid = p_id(self, id);
                let st = self.style_near(pid);
                let text = format!(
                    "{}{}{}",
                    self.style.newline,
                    self.indent(col),
                    emit::block(v, col, &st)
                );
                self.insert_in(id, at, text);
            }
        }
    }

    /// The values written under `key` in this very mapping (an alias is not followed: what
    /// changes is the value at this place, never the anchored node it names elsewhere).
    fn explicit(&self, map: NodeId, key: &str) -> Vec<NodeId> {
        self.doc
            .pairs(map)
            .filter(|(k, _)| self.doc.key_is(*k, key))
            .map(|(_, v)| v)
            .collect()
    }

    /// Changes the data of a whole mapping (a key set or removed), when its text cannot be
    /// edited key by key: the intended data stays exact, and the file is written anew.
    fn replace_in_map(&mut self, map: NodeId, key: &str, v: Option<&Value>, why: String) {
        self.changed = true;
        self.cannot(why);
        let mut m = match self.doc.json_with(map, &*self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        match v {
            Some(v) => {
                m.insert(key.to_owned(), v.clone());
            }
            None => {
                m.remove(key);
            }
        }
        self.replaced.insert(map, Value::Object(m));
    }

    /// Sets `key` in a mapping to `v` (replacing the value or adding the pair at the end).
    pub(crate) fn set_key(&mut self, map: NodeId, key: &str, v: &Value) {
        let merged = self.doc.has_merge(map);
        match (self.explicit(map, key).as_slice(), merged) {
            ([], false) => self.add_pair(map, key, v),
            ([val], false) => self.set(*val, v),
            ([_, _, ..], _) => self.replace_in_map(
                map,
                key,
                Some(v),
                format!("the key {key:?} appears more than once in one mapping"),
            ),
            (_, true) => self.replace_in_map(
                map,
                key,
                Some(v),
                "the mapping being changed takes keys from a `<<` merge".into(),
            ),
        }
    }

    fn add_pair(&mut self, map: NodeId, key: &str, v: &Value) {
        self.changed = true;
        if !self.unshared(map) {
            self.cannot(
                "the mapping being changed is shared through a YAML anchor or carries a tag",
            );
        }
        self.appended
            .entry(map)
            .or_default()
            .push(Appended::Pair(key.to_owned(), v.clone()));
        let n = self.doc.node(map);
        let st = self.style_near(map);
        let k = emit::quoted(key, st.key_quote);
        if n.kind == NodeKind::FlowMap {
            let text = format!("{k}: {}", emit::flow(v, &st));
            match self.doc.children(map).last() {
                Some(last) => {
                    let at = self.doc.node(last).end as usize;
                    self.item_splice(map, at, at, format!(", {text}"));
                }
                None => {
                    let at = n.start as usize + 1;
                    self.item_splice(map, at, at, text);
                }
            }
            return;
        }
        let col = self.doc.col(n.start as usize);
        let body = match v {
            Value::Object(m) if !m.is_empty() => {
                let c = col + self.style.indent;
                format!(
                    ":{}{}{}",
                    self.style.newline,
                    self.indent(c),
                    emit::block(v, c, &self.style)
                )
            }
            Value::Array(a) if !a.is_empty() => {
                let c = if self.style.seq_indent {
                    col + self.style.indent
                } else {
                    col
                };
                format!(
                    ":{}{}{}",
                    self.style.newline,
                    self.indent(c),
                    emit::block(v, c, &self.style)
                )
            }
            other => format!(": {}", emit::inline(other, &st).expect("inline")),
        };
        let at = self.after_line(n.end as usize);
        let nl = self.style.newline;
        let text = format!("{}{k}{body}{nl}", self.indent(col));
        self.insert_in(map, at, text);
    }

    /// Removes `key` from a mapping, if present.
    pub(crate) fn remove_key(&mut self, map: NodeId, key: &str) {
        let explicit = self.explicit(map, key);
        if self.doc.has_merge(map) {
            let present = matches!(self.doc.json_with(map, &*self), Ok(Value::Object(m)) if m.contains_key(key));
            if present {
                self.replace_in_map(
                    map,
                    key,
                    None,
                    "the mapping being changed takes keys from a `<<` merge".into(),
                );
            }
            return;
        }
        if explicit.is_empty() {
            return;
        }
        self.changed = true;
        let pairs: Vec<(NodeId, NodeId)> = self.doc.pairs(map).collect();
        if explicit.len() > 1 {
            self.cannot(format!(
                "the key {key:?} appears more than once in one mapping"
            ));
            for v in explicit {
                self.deleted.insert(v);
            }
            return;
        }
        if !self.unshared(map) {
            self.cannot(
                "the mapping being changed is shared through a YAML anchor or carries a tag",
            );
        }
        let i = pairs
            .iter()
            .position(|(k, _)| self.doc.key_is(*k, key))
            .expect("counted");
        let (k, v) = pairs[i];
        self.deleted.insert(v);
        if pairs.len() == 1 {
            self.deleted.remove(&v);
            self.set(map, &Value::Object(Map::new()));
            return;
        }
        let kn = self.doc.node(k);
        let vend = self.doc.node(v).end as usize;
        if self.doc.node(map).kind == NodeKind::FlowMap {
            self.flow_dirty.insert(map);
            return;
        }
        if self.starts_line(kn.start as usize) {
            let from = self.region_start(kn.start as usize);
            let to = self.doc.line_end(vend);
            let to = if to < self.doc.text.len() { to + 1 } else { to };
            self.splice(from, to, "");
        } else {
            // the first pair of a list item shares the `- ` line: pull the next key up
            let to = self.doc.node(pairs[i + 1].0).start as usize;
            self.splice(kn.start as usize, to, "");
        }
    }

    /// Appends an item to a sequence.
    pub(crate) fn append_item(&mut self, seq: NodeId, v: &Value) {
        self.changed = true;
        if !self.unshared(seq) {
            self.cannot("the list being changed is shared through a YAML anchor");
        }
        self.appended
            .entry(seq)
            .or_default()
            .push(Appended::Item(v.clone()));
        let n = self.doc.node(seq);
        let st = self.style_near(seq);
        if n.kind == NodeKind::FlowSeq {
            match self.doc.children(seq).last() {
                Some(last) => {
                    let at = self.doc.node(last).end as usize;
                    self.item_splice(seq, at, at, format!(", {}", emit::flow(v, &st)));
                }
                None => {
                    let at = n.start as usize + 1;
                    self.item_splice(seq, at, at, emit::flow(v, &st));
                }
            }
            return;
        }
        // items written `- {…}` get a new item written so too
        let flow_items = self.doc.children(seq).last().is_some_and(|last| {
            matches!(
                self.doc.node(last).kind,
                NodeKind::FlowMap | NodeKind::FlowSeq
            )
        });
        if self.doc.is_odd(seq) {
            self.cannot("a list whose layout could not be mapped");
            return;
        }
        let dash_col = self.doc.col(n.start as usize);
        // the gap between `-` and the item, as the first item has it
        let gap = self
            .doc
            .children(seq)
            .next()
            .map(|c| self.doc.node(c).start as usize)
            .filter(|s| self.doc.line_start(*s) == self.doc.line_start(n.start as usize))
            .map_or(2, |s| s - n.start as usize)
            .max(2);
        let at = self.after_line(n.end as usize);
        let nl = self.style.newline;
        let body = if flow_items {
            emit::flow(v, &st)
        } else {
            emit::block(v, dash_col + gap, &st)
        };
        let text = format!(
            "{}-{}{body}{nl}",
            self.indent(dash_col),
            " ".repeat(gap - 1)
        );
        self.item_splice(seq, at, at, text);
    }

    /// Removes the `index`th item of a sequence.
    pub(crate) fn remove_item(&mut self, seq: NodeId, item: NodeId) {
        self.changed = true;
        let items: Vec<NodeId> = self.doc.children(seq).collect();
        let Some(i) = items.iter().position(|x| *x == item) else {
            return;
        };
        if !self.unshared(seq) {
            self.cannot("the list being changed is shared through a YAML anchor");
        }
        self.deleted.insert(item);
        let n = self.doc.node(seq);
        let end = self.doc.node(item).end as usize;
        if n.kind == NodeKind::FlowSeq {
            self.flow_dirty.insert(seq);
            return;
        }
        let dash = if i == 0 {
            Some(n.start as usize)
        } else {
            find_dash(&self.doc.text, self.doc.node(items[i - 1]).end as usize)
        };
        match dash.filter(|d| !self.doc.is_odd(seq) && self.starts_line(*d)) {
            Some(d) => {
                let from = self.region_start(d);
                let to = self.doc.line_end(end);
                let to = if to < self.doc.text.len() { to + 1 } else { to };
                self.item_splice(seq, from, to, "");
            }
            None => self.cannot("a list item whose layout could not be mapped"),
        }
    }

    /// A list all of whose items are removed is written anew as a whole: `[]`, or the items
    /// appended to it (item-by-item splices would leave a key with no value).
    fn settle_emptied_lists(&mut self) {
        let lists: HashSet<NodeId> = self.splices.iter().filter_map(|s| s.3).collect();
        for seq in lists {
            let items: Vec<NodeId> = self.doc.children(seq).collect();
            if self.doc.node(seq).kind != NodeKind::BlockSeq
                || items.is_empty()
                || !items.iter().all(|c| self.deleted.contains(c))
            {
                continue;
            }
            self.splices.retain(|s| s.3 != Some(seq));
            for c in &items {
                self.deleted.remove(c);
            }
            let added: Vec<Value> = self
                .appended
                .remove(&seq)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|a| match a {
                    Appended::Item(v) => Some(v),
                    Appended::Pair(..) => None,
                })
                .collect();
            self.set(seq, &Value::Array(added));
        }
    }

    /// Flow collections that lost members get their insides written anew from the members
    /// that stay (their own text) and those appended, joined by `, `.
    fn settle_flow(&mut self) {
        // innermost first: an outer collection takes its members' finished text
        let mut dirty: Vec<(u32, NodeId)> = Vec::new();
        for id in std::mem::take(&mut self.flow_dirty) {
            dirty.push((self.depth(id), id));
        }
        dirty.sort_by_key(|d| std::cmp::Reverse(*d));
        for (_, id) in dirty {
            let n = self.doc.node(id);
            let text = &self.doc.text;
            let mut parts: Vec<String> = Vec::new();
            let members: Vec<(usize, usize, NodeId)> = if n.kind.is_map() {
                self.doc
                    .pairs(id)
                    .map(|(k, v)| {
                        (
                            self.doc.node(k).start as usize,
                            self.doc.node(v).end as usize,
                            v,
                        )
                    })
                    .collect()
            } else {
                self.doc
                    .children(id)
                    .map(|c| {
                        (
                            self.doc.node(c).start as usize,
                            self.doc.node(c).end as usize,
                            c,
                        )
                    })
                    .collect()
            };
            if self.flow_lines_removed(id, &members) {
                continue;
            }
            for (a, b, member) in &members {
                if self.deleted.contains(member) {
                    continue;
                }
                // a kept member's own changes (a rename inside it) go into its new text
                let mut inner: Vec<(usize, usize, String)> = Vec::new();
                self.splices.retain(|s| {
                    if s.0 >= *a && s.1 <= *b && s.3 != Some(id) {
                        inner.push((s.0, s.1, s.2.clone()));
                        false
                    } else {
                        true
                    }
                });
                inner.sort_by_key(|x| (x.0, x.1));
                let mut part = String::new();
                let mut pos = *a;
                for (st, en, rep) in inner {
                    part.push_str(&text[pos..st]);
                    part.push_str(&rep);
                    pos = en;
                }
                part.push_str(&text[pos..*b]);
                parts.push(part);
            }
            // appended members were spliced in as ", x": take them into the new inside instead
            let mut added: Vec<String> = Vec::new();
            self.splices.retain(|s| {
                if s.3 == Some(id) {
                    added.push(s.2.trim_start_matches(", ").to_owned());
                    false
                } else {
                    true
                }
            });
            parts.extend(added);
            let (from, to) = match (members.first(), members.last()) {
                (Some(f), Some(l)) => (f.0, l.1),
                _ => (n.start as usize + 1, n.start as usize + 1),
            };
            self.splice(from, to, parts.join(", "));
        }
    }

    /// A flow collection laid out one member per line (`[`/`{` and the closing bracket on
    /// lines of their own) loses members the way a block list does: each removed member's
    /// lines go — with the comment lines directly above it and its trailing comment — and
    /// every other byte stays. False (nothing done) for any other layout, or when members are
    /// also appended to it.
    fn flow_lines_removed(&mut self, id: NodeId, members: &[(usize, usize, NodeId)]) -> bool {
        if self.splices.iter().any(|s| s.3 == Some(id)) {
            return false;
        }
        let text = self.doc.text.clone();
        let n = self.doc.node(id);
        let last = members.len().saturating_sub(1);
        let mut commas = Vec::new();
        for (i, (a, b, _)) in members.iter().enumerate() {
            if !self.starts_line(*a) {
                return false;
            }
            // after the member, on its line: `,` (not after the last one), blanks, a comment
            let end = self.line_content_end(*b);
            let rest = &text[*b..end];
            let after = rest.trim_start_matches([' ', '\t']);
            let comma = after.starts_with(',');
            let after = after.strip_prefix(',').unwrap_or(after);
            let after = after.trim_start_matches([' ', '\t']);
            if (i < last && !comma) || !(after.is_empty() || after.starts_with('#')) {
                return false;
            }
            commas.push(comma.then(|| *b + rest.find(',').unwrap_or(0)));
        }
        // the closing bracket starts its own line
        let close = (n.end as usize).saturating_sub(1);
        if members.is_empty() || !self.starts_line(close) {
            return false;
        }
        let kept: Vec<usize> = (0..members.len())
            .filter(|i| !self.deleted.contains(&members[*i].2))
            .collect();
        let Some(&new_last) = kept.last() else {
            return false;
        };
        for (a, b, m) in members {
            if !self.deleted.contains(m) {
                continue;
            }
            let from = self.region_start(*a);
            let to = self.doc.line_end(*b);
            let to = if to < text.len() { to + 1 } else { to };
            self.splices.retain(|s| !(s.0 >= from && s.1 <= to));
            self.splice(from, to, "");
        }
        // the new last member keeps no separator after it
        if new_last < last {
            if let Some(c) = commas[new_last] {
                self.splice(c, c + 1, "");
            }
        }
        true
    }

    /// The new text: spliced and verified, or rewritten whole (with the reason).
    pub(crate) fn finish(mut self) -> Result<Option<Edited>, String> {
        if !self.changed {
            return Ok(None);
        }
        self.settle_emptied_lists();
        self.settle_flow();
        let Some(root) = self.doc.root() else {
            return Err("cannot edit an empty document".into());
        };
        if self.rewrite.is_none() {
            match self.pieces() {
                Ok(pieces) => {
                    let edited = Edited {
                        pieces,
                        rewrote: None,
                    };
                    // the text is built whole only when the whole of it is to be read again
                    let res = match self.verify_local() {
                        Some(Ok(())) => {
                            // tests check that the shortcut only ever agrees with the full check
                            #[cfg(debug_assertions)]
                            {
                                let text = edited.text(&self.doc.text);
                                debug_assert_eq!(
                                    verify_text(&text, &mut |sink| self
                                        .doc
                                        .walk(root, &self, sink)),
                                    Ok(()),
                                    "a local verification passed that the whole file fails:\n{text}"
                                );
                            }
                            Ok(())
                        }
                        _ => {
                            let text = edited.text(&self.doc.text);
                            verify_text(&text, &mut |sink| self.doc.walk(root, &self, sink))
                        }
                    };
                    match res {
                        Ok(()) => return Ok(Some(edited)),
                        Err(e) => {
                            self.rewrite = Some(format!("an in-place edit did not verify ({e})"))
                        }
                    }
                }
                Err(e) => self.rewrite = Some(e),
            }
        }
        let intended = self.doc.json_with(root, &self)?;
        let text = emit::document(&intended, &self.style);
        verify_text(&text, &mut |sink| walk_value(&intended, sink))
            .map_err(|e| format!("internal error: the rewritten file does not read back ({e})"))?;
        Ok(Some(Edited {
            pieces: vec![Piece::New(text)],
            rewrote: self.rewrite.take(),
        }))
    }

    /// Verifies only the top-level keys the splices touch, when the file allows it
    /// ([`Document::regions_independent`]). `None` when it does not apply.
    ///
    /// Why that is enough: in such a file every top-level key starts a line at column 0, and
    /// a parser reaching that line — outside any quoted, flow or block scalar, which is all it
    /// can be at column 0 in a block mapping at column 0 — is simply expecting the next key.
    /// So the file parses as its top-level keys' texts parsed one by one (each must also parse
    /// alone, which a scalar left open by a splice would not). Texts no splice touched are
    /// the same bytes, so they read as before; only the touched keys' new texts are parsed
    /// here, each run of them checked against what the overlay says they now hold.
    fn verify_local(&self) -> Option<Result<(), String>> {
        let doc = self.doc;
        if !doc.regions_independent() {
            return None;
        }
        let root = doc.root()?;
        let text = &doc.text;
        // region i: from the start of key i (region 0 from the start of the file) to key i+1
        let keys: Vec<usize> = doc
            .pairs(root)
            .map(|(k, _)| doc.node(k).start as usize)
            .collect();
        if keys.is_empty() {
            return None;
        }
        let n = keys.len();
        let bound = |i: usize| {
            if i == 0 {
                0
            } else if i == n {
                text.len()
            } else {
                keys[i]
            }
        };
        let region_of = |pos: usize, insertion: bool| -> usize {
            // an insertion where a key starts belongs to the region that ends there
            let i = keys.partition_point(|&k| if insertion { k < pos } else { k <= pos });
            i.saturating_sub(1)
        };
        let mut touched = vec![false; n];
        for (s, e, _, _, _) in &self.splices {
            let first = region_of(*s, s == e);
            let last = if s == e {
                first
            } else {
                region_of(e - 1, false)
            };
            for t in touched.iter_mut().take(last + 1).skip(first) {
                *t = true;
            }
        }
        if self.appended.contains_key(&root) {
            touched[n - 1] = true;
        }
        let size: usize = (0..n)
            .filter(|i| touched[*i])
            .map(|i| bound(i + 1) - bound(i))
            .sum();
        // most of the file changed: reading it whole is as cheap (test builds always take
        // the shortcut, so that the debug assertion in `finish` compares it with the whole)
        if size * 2 > text.len() && !cfg!(debug_assertions) {
            return None;
        }
        let mut i = 0;
        while i < n {
            if !touched[i] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < n && touched[j + 1] {
                j += 1;
            }
            let (from, to) = (bound(i), bound(j + 1));
            let mut part = String::new();
            let mut pos = from;
            for (s, e, rep, _, _) in &self.splices {
                let inside = if s == e {
                    (*s > from || (*s == from && from == 0)) && *s <= to
                } else {
                    *s >= from && *e <= to
                };
                if !inside {
                    continue;
                }
                part.push_str(&text[pos..*s]);
                part.push_str(rep);
                pos = *e;
            }
            part.push_str(&text[pos..to]);
            let res = verify_text(&part, &mut |sink| doc.walk_root_pairs(i, j, self, sink));
            if let Err(e) = res {
                return Some(Err(e));
            }
            i = j + 1;
        }
        Some(Ok(()))
    }

    /// The new text as pieces of the old and the replacements, in order.
    fn pieces(&mut self) -> Result<Vec<Piece>, String> {
        // stable: insertions at one place keep the order they were made in
        self.splices
            .sort_by_key(|s| (s.0, s.1, std::cmp::Reverse(s.4)));
        let mut out = Vec::with_capacity(self.splices.len() * 2 + 1);
        let mut pos = 0;
        for (start, end, rep, _, _) in &self.splices {
            if *start < pos {
                return Err("two changes overlap in the text".into());
            }
            out.push(Piece::Original(pos, *start));
            out.push(Piece::New(rep.clone()));
            pos = *end;
        }
        out.push(Piece::Original(pos, self.doc.text.len()));
        Ok(out)
    }

    #[cfg(test)]
    fn spliced(&mut self) -> Result<String, String> {
        let pieces = self.pieces()?;
        Ok(Edited {
            pieces,
            rewrote: None,
        }
        .text(&self.doc.text))
    }
}

/// The parent of a node, for style lookups (the node itself at the root).
fn p_id(ed: &mut Editor<'_>, id: NodeId) -> NodeId {
    ed.parent(id).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_verification_catches_a_broken_or_wrong_splice() {
        let src = "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: s}\ncurrent-context: a\nusers: []\n";
        let doc = Document::parse(src.to_owned()).unwrap();
        let root = doc.root().unwrap();
        let cc = doc.get(root, "current-context").unwrap();
        // the overlay says "b", the text says "b": fine
        let mut ed = Editor::new(&doc);
        ed.set(cc, &Value::String("b".into()));
        ed.spliced().unwrap();
        assert_eq!(ed.verify_local(), Some(Ok(())));
        // the text says something else, or is not YAML: caught in the touched region
        for bad in ["c", "\"b", "[b"] {
            let mut ed = Editor::new(&doc);
            ed.set(cc, &Value::String("b".into()));
            ed.splices[0].2 = bad.into();
            ed.spliced().unwrap();
            assert!(matches!(ed.verify_local(), Some(Err(_))), "{bad}");
        }
        // a splice that swallows the next key's line is caught too
        let mut ed = Editor::new(&doc);
        ed.set(cc, &Value::String("b".into()));
        ed.splices[0].2 = "b\n  x: y".into();
        ed.spliced().unwrap();
        assert!(matches!(ed.verify_local(), Some(Err(_))));
    }
}
