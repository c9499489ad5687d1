//! Writing YAML: scalars that every YAML 1.1 and 1.2 reader reads back as the same string, and
//! new entries laid out like their neighbours.

use std::borrow::Cow;

use serde_json::Value;

use super::document::{resolve_plain, Resolved};

/// How a file lays out its blocks, so that new text looks like the old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Spaces per nesting level of mappings.
    pub(crate) indent: usize,
    /// `key:\n  - item` (true) or `key:\n- item` (false, kubectl's and the AWS CLI's way).
    pub(crate) seq_indent: bool,
    /// Whether a named entry's `name:` comes before its body (`- name: x\n  cluster: …`).
    pub(crate) name_first: bool,
    pub(crate) newline: &'static str,
    /// How neighbouring keys and string values are quoted (plain: only where needed).
    pub(crate) key_quote: Quote,
    pub(crate) value_quote: Quote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Quote {
    #[default]
    Plain,
    Single,
    Double,
}

impl Default for Style {
    /// What kubectl and `aws eks update-kubeconfig` write.
    fn default() -> Self {
        Self {
            indent: 2,
            seq_indent: false,
            name_first: false,
            newline: "\n",
            key_quote: Quote::Plain,
            value_quote: Quote::Plain,
        }
    }
}

/// Whether `s` can be written plain and read back as this same string by YAML 1.1 readers
/// (go-yaml v2, PyYAML) and YAML 1.2 readers alike, in block and flow context.
pub fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let second = s[first.len_utf8()..].chars().next();
    // `--region` is plain, `-`, `- x` and a `---` document marker are not
    let dash_ok = first == '-' && second.is_some_and(|c| c != ' ') && !s.starts_with("---");
    if !(first.is_alphanumeric()
        || dash_ok
        || matches!(first, '/' | '.' | '_' | '(' | '$' | '^' | '+' | '=' | '~'))
    {
        return false;
    }
    if s.ends_with(':') || s.contains(": ") || s.contains(" #") || s.contains(" :") {
        return false;
    }
    if s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    let allowed = |c: char| {
        c.is_alphanumeric()
            || matches!(
                c,
                '-' | '_'
                    | '.'
                    | '/'
                    | ':'
                    | '@'
                    | '+'
                    | '='
                    | '~'
                    | '('
                    | ')'
                    | '$'
                    | '^'
                    | '%'
                    | ' '
            )
    };
    if !s.chars().all(allowed) {
        return false;
    }
    // not another type to any reader: go-yaml v2 (kubectl), YAML 1.1 (sexagesimal 12:30,
    // `=`), YAML 1.2 core (0o17, .5)
    if !matches!(resolve_plain(s), Resolved::Str(_)) {
        return false;
    }
    if s == "=" || s == "<<" {
        return false;
    }
    let digits_colons = s.bytes().all(|b| {
        b.is_ascii_digit() || b == b':' || b == b'.' || b == b'_' || b == b'-' || b == b'+'
    });
    if digits_colons && s.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    if matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | ".inf" | ".nan"
    ) {
        return false;
    }
    true
}

/// A string as a YAML scalar: plain when that is safe, else double-quoted.
pub(crate) fn scalar(s: &str) -> Cow<'_, str> {
    if plain_ok(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(double_quoted(s))
    }
}

/// A double-quoted scalar: what go-yaml and granit-parser both read back as `s` (controls,
/// C1, NEL, LS, PS, U+FEFF and non-characters escaped, as go-yaml's emitter escapes them).
pub(crate) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match super::compat::escape_char(c) {
            Some(e) => out.push_str(&e),
            None => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string in the given quoting style (plain only where that is safe).
pub(crate) fn quoted(s: &str, q: Quote) -> String {
    match q {
        Quote::Plain => scalar(s).into_owned(),
        Quote::Double => double_quoted(s),
        Quote::Single => single_quoted(s).unwrap_or_else(|| double_quoted(s)),
    }
}

/// A single-quoted scalar, when `s` can be one (no line breaks or control characters).
pub(crate) fn single_quoted(s: &str) -> Option<String> {
    if s.chars().any(super::compat::needs_escape) {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// A scalar (or empty collection) on one line; None for a non-empty collection.
pub(crate) fn inline(v: &Value, st: &Style) -> Option<String> {
    Some(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s, st.value_quote),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        _ => return None,
    })
}

/// A value in flow style on one line: `{name: a, context: {cluster: c}}`.
pub(crate) fn flow(v: &Value, st: &Style) -> String {
    match v {
        Value::Array(a) if !a.is_empty() => format!(
            "[{}]",
            a.iter().map(|x| flow(x, st)).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) if !m.is_empty() => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}: {}", quoted(k, st.key_quote), flow(x, st)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => inline(other, st).expect("scalars and empty collections are inline"),
    }
}

/// A value in block style, for a place at column `col` where the cursor already is: the first
/// line has no indentation, later lines are indented from `col`. No trailing line break.
pub(crate) fn block(v: &Value, col: usize, st: &Style) -> String {
    let mut out = String::new();
    block_into(&mut out, v, col, st);
    out
}

fn pad(out: &mut String, st: &Style, col: usize) {
    out.push_str(st.newline);
    out.extend(std::iter::repeat_n(' ', col));
}

fn block_into(out: &mut String, v: &Value, col: usize, st: &Style) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    pad(out, st, col);
                }
                out.push_str(&quoted(k, st.key_quote));
                out.push(':');
                match x {
                    Value::Object(c) if !c.is_empty() => {
                        pad(out, st, col + st.indent);
                        block_into(out, x, col + st.indent, st);
                    }
                    Value::Array(c) if !c.is_empty() => {
                        let c2 = if st.seq_indent { col + st.indent } else { col };
                        pad(out, st, c2);
                        block_into(out, x, c2, st);
                    }
                    other => {
                        out.push(' ');
                        out.push_str(&inline(other, st).expect("inline"));
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    pad(out, st, col);
                }
                out.push_str("- ");
                block_into(out, x, col + 2, st);
            }
        }
        other => out.push_str(&inline(other, st).expect("inline")),
    }
}

/// A whole document.
pub fn document(root: &Value, st: &Style) -> String {
    let mut s = block(root, 0, st);
    s.push_str(st.newline);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_words_are_quoted() {
        for w in [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "n",
            "Y",
            "N",
            "true",
            "True",
            "null",
            "~",
            "",
            "0777",
            "1e3",
            "1_000",
            "0x1F",
            ".inf",
            "12:30",
            "2024-01-01",
            "-1",
            "+1",
            "NO",
            "On",
            "a: b",
            "#c",
            "@a",
            "=",
            "<<",
            "?",
            "3.",
            "line1\nline2",
            "-",
            "a #b",
            "[x]",
            "{y}",
            "a,b",
            "'q",
            "\"q",
            "---",
            "*a",
            "&a",
            "!t",
            "%p",
            "|",
            ">",
            " lead",
            "trail ",
            "0o17",
            ".5",
        ] {
            assert!(!plain_ok(w), "{w:?} must be quoted");
        }
        for w in [
            "arn:aws:eks:us-west-2:123456789012:cluster/sandbox",
            "sandbox",
            "team-a",
            "kube-system",
            "https://ABC.gr7.us-west-2.eks.amazonaws.com",
            "client.authentication.k8s.io/v1beta1",
            "--region",
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
            "user@example.com",
        ] {
            assert!(plain_ok(w), "{w:?} can stay plain");
        }
    }

    #[test]
    fn block_layout() {
        let v = serde_json::json!({"name": "a", "context": {"cluster": "c", "user": "u"}, "args": ["x", "y"], "e": {}});
        let st = Style::default();
        assert_eq!(
            block(&v, 2, &st),
            "name: a\n  context:\n    cluster: c\n    user: u\n  args:\n  - x\n  - \"y\"\n  e: {}"
        );
        let st4 = Style {
            indent: 4,
            seq_indent: true,
            ..st
        };
        assert_eq!(
            block(&serde_json::json!([{"a": [1]}]), 0, &st4),
            "- a:\n      - 1"
        );
    }
}
