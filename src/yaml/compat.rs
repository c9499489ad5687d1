//! Where go-yaml v2 (what kubectl reads kubeconfigs with, through sigs.k8s.io/yaml, and what
//! aws-iam-authenticator reads aws-auth with) and granit-parser (kctx's parser) would read the
//! same bytes differently, kctx refuses the file with one line instead of guessing. Refusing
//! never yields other data than kubectl sees; the cases are ones kubectl writes almost never.
//!
//! The differences, found in both parsers' sources and by a differential fuzz (the test
//! `yaml_differential` replays one against PyYAML, another YAML 1.1 reader):
//! - go-yaml's reader decodes UTF-16 with a byte order mark ([`decode`] does too);
//! - NEL (U+0085), LS (U+2028) and PS (U+2029) are line breaks to go-yaml, content to granit:
//!   a NEL in a comment ends the comment for kubectl only;
//! - U+FEFF after the first character: go-yaml's `is_bom` check ignores its position, and a
//!   U+FEFF that lands at the start of its buffer makes it drop the first character of
//!   following lines;
//! - characters outside YAML's printable set: go-yaml refuses the file;
//! - tabs in the indentation (before a line's first character other than ` -?:`): go-yaml
//!   refuses them, granit accepts them;
//! - event-level cases (checked while building the tree, see `document.rs`): `?` in a flow
//!   plain scalar, a flow plain scalar starting with `:` or followed directly by `:` and a flow
//!   indicator, anchor names outside `[0-9A-Za-z_-]`, `\/` and surrogate escapes, null or
//!   collection keys, keys that collide once converted to JSON (`1` and `"1"`: kubectl's
//!   choice between them is random), multi-line implicit keys in flow, and go-yaml's
//!   "excessive aliasing" rule ([`AliasCounter`]).

use std::borrow::Cow;

/// How a file's bytes were encoded (kept, so that an edited file is written back alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Utf8,
    /// UTF-16 little endian with a byte order mark (what Windows PowerShell's `>` writes).
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    /// `text` in this encoding.
    pub(crate) fn encode(self, text: &str) -> Cow<'_, [u8]> {
        let units = |be: bool| -> Vec<u8> {
            text.encode_utf16()
                .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
                .collect()
        };
        match self {
            Encoding::Utf8 => Cow::Borrowed(text.as_bytes()),
            Encoding::Utf16Le => Cow::Owned(units(false)),
            Encoding::Utf16Be => Cow::Owned(units(true)),
        }
    }
}

/// The text of a file as go-yaml's reader decodes it: UTF-8, or UTF-16 when it starts with a
/// byte order mark (the mark is kept, as U+FEFF, so that writing it back keeps it).
pub(crate) fn decode(data: Vec<u8>) -> Result<(String, Encoding), String> {
    let utf16 = |be: bool| -> Result<String, String> {
        if !data.len().is_multiple_of(2) {
            return Err("UTF-16 text with an odd number of bytes".into());
        }
        let units = data.chunks_exact(2).map(|p| {
            if be {
                u16::from_be_bytes([p[0], p[1]])
            } else {
                u16::from_le_bytes([p[0], p[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| "not valid UTF-16".to_owned())
    };
    match data.get(..2) {
        Some([0xff, 0xfe]) => Ok((utf16(false)?, Encoding::Utf16Le)),
        Some([0xfe, 0xff]) => Ok((utf16(true)?, Encoding::Utf16Be)),
        _ => match String::from_utf8(data) {
            Ok(s) => Ok((s, Encoding::Utf8)),
            Err(e) => Err(format!(
                "not valid UTF-8 (byte {} is not; UTF-16 needs a byte order mark)",
                e.utf8_error().valid_up_to() + 1
            )),
        },
    }
}

/// Whether go-yaml's reader accepts `c` (YAML 1.1's printable set: tab, line feed, carriage
/// return, and the ranges below; NEL is printable to it, and refused by kctx separately).
fn printable(c: char) -> bool {
    matches!(c as u32,
        0x09 | 0x0a | 0x0d | 0x20..=0x7e | 0x85 | 0xa0..=0xd7ff | 0xe000..=0xfffd | 0x10000..)
}

/// Why a character cannot stand in a file kctx reads, or `None`.
fn refused(c: char) -> Option<String> {
    Some(match c {
        '\u{85}' => "a NEL (U+0085), which kubectl's YAML reader takes as a line break".into(),
        '\u{2028}' => {
            "a line separator (U+2028), which kubectl's YAML reader takes as a line break".into()
        }
        '\u{2029}' => {
            "a paragraph separator (U+2029), which kubectl's YAML reader takes as a line break"
                .into()
        }
        '\u{feff}' => {
            "a byte order mark (U+FEFF) after the start, which kubectl's YAML reader mishandles"
                .into()
        }
        c if !printable(c) => format!(
            "the control character U+{:04X}, which kubectl's YAML reader refuses",
            c as u32
        ),
        _ => return None,
    })
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

/// A refusal at byte `pos` of `text`, as a line and column.
pub(crate) fn error_at(text: &str, pos: usize, message: String) -> SyntaxError {
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    SyntaxError {
        line,
        column,
        message,
    }
}

/// Refuses a text that go-yaml would read otherwise than kctx (or not at all), naming the
/// first place and why: one byte order mark at the start is allowed and nothing else of the
/// characters above, and no tab in a line's indentation.
pub(crate) fn check_text(text: &str) -> Result<(), SyntaxError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let skip = text.len() - body.len();
    // It runs over every kubeconfig read, so it goes by blocks of 64 bytes (a test holds it
    // to the character-by-character rule): a block of tabs, line breaks and ' '..='~' only,
    // nearly every block of a kubeconfig, is passed over whole; characters are looked at only
    // in the others.
    let bytes = body.as_bytes();
    let odd = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b >= 0x7f;
    let mut i = 0;
    while i < bytes.len() {
        let end = (i + 64).min(bytes.len());
        if !bytes[i..end].iter().fold(false, |any, b| any | odd(*b)) {
            i = end;
            continue;
        }
        while i < end {
            let c = body[i..].chars().next().unwrap_or('\0');
            if let Some(why) = refused(c) {
                return Err(error_at(
                    text,
                    skip + i,
                    format!("{why}; kctx does not read such a file (remove the character)"),
                ));
            }
            i += c.len_utf8();
        }
    }
    // No tab in a line's indentation (what comes before its first character other than ' ',
    // '-', '?' and ':'); lines end at \n, \r\n or a lone \r, as go-yaml reads them.
    let mut line = 0;
    loop {
        let indentation = bytes[line..]
            .iter()
            .position(|b| !matches!(b, b' ' | b'-' | b'?' | b':'))
            .map(|n| line + n);
        match indentation {
            Some(at) if bytes[at] == b'\t' => {
                return Err(error_at(
                    text,
                    skip + at,
                    "a tab in the indentation, which kubectl's YAML reader refuses (indent with spaces)"
                        .into(),
                ))
            }
            Some(at) => match memchr::memchr2(b'\n', b'\r', &bytes[at..]) {
                Some(n) => line = at + n + 1,
                None => return Ok(()),
            },
            None => return Ok(()),
        }
    }
}

/// A scalar escaped for a double-quoted YAML string: what both go-yaml and granit read back
/// as `s` (never `\/`, `\'` or surrogate escapes, which one of them refuses).
pub(crate) fn escape_char(c: char) -> Option<Cow<'static, str>> {
    Some(match c {
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        '\u{0}' => "\\0".into(),
        '\u{1b}' => "\\e".into(),
        '\u{85}' => "\\N".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        '\u{feff}' => "\\uFEFF".into(),
        c if (c as u32) < 0x100 && !printable(c) => format!("\\x{:02X}", c as u32).into(),
        c if !printable(c) => format!("\\u{:04X}", c as u32).into(),
        _ => return None,
    })
}

/// Whether `c` must be escaped (it cannot stand raw in a plain or single-quoted scalar).
pub(crate) fn needs_escape(c: char) -> bool {
    c != '\'' && c != '"' && c != '\\' && escape_char(c).is_some()
}

/// go-yaml v2's guard against alias bombs (decode.go `unmarshal`), counted in its decode
/// order: every node decoded (document, keys, values, items, aliases, and again each node
/// inside an alias expansion or a merge) adds to `decoded`, those inside an expansion to
/// `aliased`; after any step, more than 100 aliased and 1,000 decoded with too high a ratio is
/// "excessive aliasing", and kubectl refuses the file.
#[derive(Debug, Default)]
pub(crate) struct AliasCounter {
    decoded: u64,
    aliased: u64,
}

impl AliasCounter {
    /// One node decoded at alias depth `depth`; an error once go-yaml would give up.
    pub(crate) fn step(&mut self, depth: u32) -> Result<(), String> {
        self.decoded += 1;
        if depth > 0 {
            self.aliased += 1;
        }
        let ratio = if self.decoded <= 400_000 {
            0.99
        } else if self.decoded >= 4_000_000 {
            0.10
        } else {
            0.99 - 0.89 * (self.decoded - 400_000) as f64 / 3_600_000.0
        };
        if self.aliased > 100
            && self.decoded > 1000
            && self.aliased as f64 / self.decoded as f64 > ratio
        {
            return Err("the document contains excessive aliasing (kubectl refuses it)".into());
        }
        Ok(())
    }
}

/// Whether an anchor or alias name is one go-yaml accepts.
pub(crate) fn anchor_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// In a double-quoted scalar's source, an escape one of the two parsers refuses.
pub(crate) fn bad_escape(source: &str) -> Option<&'static str> {
    let b = source.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'/') => return Some("the escape `\\/`, which kubectl's YAML reader refuses"),
            Some(b'u') | Some(b'U') => {
                let n = if b[i + 1] == b'u' { 4 } else { 8 };
                if let Some(hex) = source.get(i + 2..i + 2 + n) {
                    if let Ok(v) = u32::from_str_radix(hex, 16) {
                        if (0xd800..=0xdfff).contains(&v) {
                            return Some(
                                "a surrogate escape (\\uD800–\\uDFFF), which kubectl's YAML reader refuses",
                            );
                        }
                    }
                }
                i += 2;
            }
            _ => i += 2,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_go_yaml_sees_are_refused() {
        for (text, want) in [
            ("a: 1 # c\u{85}b: 2\n", "NEL"),
            ("a: x\u{2028}y\n", "line separator"),
            ("a: \"x\u{2029}\"\n", "paragraph separator"),
            ("a: x\u{feff}y\n", "byte order mark"),
            ("\u{feff}\u{feff}a: 1\n", "byte order mark"),
            ("a: x\u{9f}\n", "U+009F"),
            ("a: x\u{fffe}\n", "U+FFFE"),
            ("a: x\u{7f}\n", "U+007F"),
            ("a:\n\tb: 1\n", "tab"),
            ("a:\n- \tb\n", "tab"),
            ("\u{feff}\ta: 1\n", "tab"),
            ("k: >\n  '\r\t", "tab"),
        ] {
            let e = check_text(text).unwrap_err();
            assert!(e.message.contains(want), "{text:?}: {e}");
        }
        let e = check_text("a: 1\nb: 2 # x\u{85}y\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 9));
        for ok in [
            "\u{feff}a: 1\n",
            "a:\tx\n",
            "a: x\ty # c\t\n",
            "a: é\u{a0}\u{e000}😀\n",
        ] {
            check_text(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }

    /// check_text as first written, a character and a line at a time: the byte-wise one
    /// must refuse the same texts at the same place.
    fn check_text_by_chars(text: &str) -> Result<(), usize> {
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let skip = text.len() - body.len();
        if let Some(i) = body.char_indices().find_map(|(i, c)| refused(c).map(|_| i)) {
            return Err(skip + i);
        }
        let mut pos = skip;
        for line in body.split_inclusive(['\n', '\r']) {
            for (i, c) in line.char_indices() {
                match c {
                    ' ' | '-' | '?' | ':' => continue,
                    '\t' => return Err(pos + i),
                    _ => break,
                }
            }
            pos += line.len();
        }
        Ok(())
    }

    #[test]
    fn check_text_byte_wise_agrees_with_check_text_by_characters() {
        let alphabet = [
            " ", "-", "?", ":", "\t", "\n", "\r", "a", "#", "~", "\u{7f}", "\u{1}", "é", "\u{85}",
            "\u{a0}", "\u{2028}", "\u{feff}", "\u{fffe}", "😀",
        ];
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for round in 0..100_000 {
            // short texts of any characters, and long ones of mostly plain ASCII (so that the
            // odd character falls anywhere in or across the 64-byte blocks)
            let (len, odd_one_in) = if round % 2 == 0 {
                (next(10), 1)
            } else {
                (next(200), 40)
            };
            let text: String = (0..len)
                .map(|_| match next(odd_one_in) {
                    0 => alphabet[next(alphabet.len())],
                    _ => alphabet[next(8)],
                })
                .collect();
            let want = check_text_by_chars(&text);
            let got = check_text(&text).map_err(|e| (e.line, e.column));
            let want = want.map_err(|at| {
                let e = error_at(&text, at, String::new());
                (e.line, e.column)
            });
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_read_and_written_back_alike() {
        let text = "\u{feff}apiVersion: v1\nkind: Config # é\n";
        for enc in [Encoding::Utf16Le, Encoding::Utf16Be] {
            let bytes = enc.encode(text).into_owned();
            assert_eq!(decode(bytes.clone()).unwrap(), (text.to_owned(), enc));
            assert_eq!(enc.encode(text).as_ref(), bytes.as_slice());
        }
        assert!(decode(vec![0x61, 0xff, 0x62])
            .unwrap_err()
            .contains("UTF-8"));
        assert!(decode(vec![0xff, 0xfe, 0x61]).is_err());
    }

    #[test]
    fn escapes_are_read_back_by_both_readers() {
        let esc = |s: &str| -> String {
            s.chars()
                .map(|c| escape_char(c).map_or_else(|| c.to_string(), |e| e.into_owned()))
                .collect()
        };
        assert_eq!(
            esc("a\u{85}\u{2028}\u{2029}\u{feff}\u{fffe}\u{9f}\u{7f}\u{1}"),
            "a\\N\\L\\P\\uFEFF\\uFFFE\\x9F\\x7F\\x01"
        );
        assert!(bad_escape(r#"a\/b"#).is_some());
        assert!(bad_escape(r#"\uD83D\uDE00"#).is_some());
        assert!(bad_escape(r#"\u00e9\\/"#).is_none());
        assert!(anchor_ok("a-b_1") && !anchor_ok("a.b") && !anchor_ok("é"));
    }

    #[test]
    fn the_alias_rule_is_go_yamls() {
        // 1,000 plain nodes first, then aliases: accepted while the ratio stays under 0.99
        let mut c = AliasCounter::default();
        for _ in 0..2000 {
            c.step(0).unwrap();
        }
        for _ in 0..150 {
            c.step(1).unwrap();
        }
        // an alias bomb: nearly every node decoded inside an expansion
        let mut c = AliasCounter::default();
        let first_error = (0..10_000).find(|i| c.step(u32::from(*i > 10)).is_err());
        // 11 plain nodes, then aliased ones: go-yaml gives up once 1,090 of 1,101 are aliased
        assert_eq!(first_error, Some(1100));
    }
}
