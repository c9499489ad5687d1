#!/usr/bin/env python3
"""The shape of src/: import circles, imports that run up the layers, the longest functions,
and how many items are `pub` (visible outside the crate) against `pub(crate)`.

Usage: scripts/arch_report.py [--check] [SRC_DIR]

The layers (lowest first) are those README's Development section describes; a module may
import only from its own layer or below. With --check the script exits 1 when there is a
circle or an upward import (tests/it/arch.rs runs it that way).
"""
import os
import re
import sys

# module path prefix -> layer (longest prefix wins)
LAYERS = [
    ("paths", 0), ("report", 0), ("process", 0), ("dns", 0), ("yaml", 0), ("exec_credential", 0), ("rbac", 0),
    ("store", 1), ("kubeconfig", 1),
    ("aws", 2),
    ("token", 3),
    ("kube", 4), ("eks", 4),
    ("session", 5),
    ("cli", 6), ("cmd", 6), ("personality", 6),
    ("lib", 7), ("main", 7),
]


def layer_of(mod):
    best = None
    for prefix, layer in LAYERS:
        if mod == prefix or mod.startswith(prefix + "::"):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return best[1] if best else None


def modules(src):
    """file path -> module path (`aws::sts`), for every .rs file under src."""
    out = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                out[path] = rel[0]
            else:
                out[path] = "::".join(rel)
    return out


def strip_comments_and_strings(text):
    """Code with comments and string/char literals blanked (line structure kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|\\x..|[^\\'])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)  # a lifetime
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def cfg_test_ranges(code):
    """Byte ranges of `#[cfg(test)] mod … { … }` blocks (their imports do not count)."""
    ranges = []
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", code):
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        ranges.append((m.start(), j))
    return ranges


def resolve(path_parts, known):
    """The longest module prefix of path_parts that is a known module."""
    for k in range(len(path_parts), 0, -1):
        cand = "::".join(path_parts[:k])
        if cand in known:
            return cand
    return None


def expand_use(prefix, body):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (roughly; enough for module edges)."""
    body = body.strip()
    if not body.startswith("{"):
        return [prefix + body]
    inner = body[1:-1]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        m = re.match(r"([\w:]*?)(::)?(\{.*\})$", p, re.S)
        if m and m.group(3):
            out += expand_use(prefix + m.group(1) + "::", m.group(3))
        else:
            out.append(prefix + p.split(" as ")[0].strip())
    return out


def imports(path, mod, code, known):
    """Modules this file references (crate::…, super::…, self::… paths)."""
    skip = cfg_test_ranges(code)
    here = mod.split("::") if mod not in ("lib", "main") else []
    is_mod_rs = os.path.basename(path) == "mod.rs" or mod in ("lib", "main")
    found = set()

    def add(parts):
        target = resolve(parts, known)
        if target and target != mod:
            found.add(target)

    def in_test(pos):
        return any(a <= pos < b for a, b in skip)

    for m in re.finditer(r"\buse\s+([^;]+);", code):
        if in_test(m.start()):
            continue
        text = re.sub(r"\s+", "", m.group(1))
        mm = re.match(r"((?:crate|super|self)(?:::\w+)*::)?(.*)$", text)
        for full in expand_use(mm.group(1) or "", mm.group(2)):
            parts = full.split("::")
            absolute = to_absolute(parts, here, is_mod_rs)
            if absolute is not None:
                add(absolute)
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code):
        if in_test(m.start()):
            continue
        absolute = to_absolute(m.group(1).split("::"), here, is_mod_rs)
        if absolute is not None:
            add(absolute)
    return found


def to_absolute(parts, here, is_mod_rs):
    if not parts:
        return None
    base = list(here)
    if parts[0] == "crate":
        return parts[1:]
    if parts[0] in ("super", "self"):
        # in `a/b.rs` (module a::b), self = a::b, super = a; in `a/mod.rs`, self = a
        cur = base
        i = 0
        while i < len(parts) and parts[i] in ("super", "self"):
            if parts[i] == "super":
                cur = cur[:-1]
            i += 1
        return cur + parts[i:]
    return None  # an external crate or a local item


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def functions(code, lines_of):
    """(name, first line, line count) of every fn with a body."""
    out = []
    for m in re.finditer(r"\bfn\s+(\w+)[^;{]*\{", code):
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        start = lines_of(m.start())
        end = lines_of(j - 1)
        out.append((m.group(1), start, end - start + 1))
    return out


def doc_has_reason(text_lines, line):
    """Whether the doc comment above line (1-based) says why the fn is long."""
    i = line - 2
    doc = []
    while i >= 0 and (text_lines[i].strip().startswith("///") or text_lines[i].strip().startswith("#[")):
        doc.append(text_lines[i])
        i -= 1
    return any("long:" in d.lower() or "long because" in d.lower() for d in doc)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    check = "--check" in sys.argv
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    mods = modules(src)
    known = set(mods.values())
    graph = {}
    upward = []
    fns = []
    pub_items = pub_crate = 0
    for path, mod in sorted(mods.items()):
        text = open(path, encoding="utf-8").read()
        code = strip_comments_and_strings(text)
        graph[mod] = imports(path, mod, code, known)
        la = layer_of(mod)
        for t in sorted(graph[mod]):
            lb = layer_of(t)
            if la is not None and lb is not None and lb > la:
                upward.append((mod, t))
        starts = [0]
        for i, ch in enumerate(code):
            if ch == "\n":
                starts.append(i + 1)
        import bisect

        def line_of(pos, starts=starts):
            return bisect.bisect_right(starts, pos)

        text_lines = text.split("\n")
        skip = cfg_test_ranges(code)
        for name, line, count in functions(code, line_of):
            pos = starts[line - 1]
            if any(a <= pos < b for a, b in skip):
                continue
            fns.append((count, f"{os.path.relpath(path, src)}:{line}", name, doc_has_reason(text_lines, line)))
        test_free = code
        for a, b in reversed(skip):
            test_free = test_free[:a] + test_free[b:]
        pub_items += len(re.findall(r"^\s*pub\s+(?:unsafe\s+)?(?:async\s+)?(?:fn|struct|enum|const|static|type|trait|mod|use)\b", test_free, re.M))
        pub_crate += len(re.findall(r"^\s*pub\((?:crate|super|in [\w:]+)\)\s", test_free, re.M))
    # circles between files (a mod.rs declaring its children is not an import)
    circles = [sorted(c) for c in sccs(graph) if len(c) > 1]
    fns.sort(reverse=True)
    print(f"modules: {len(mods)}")
    print(f"import circles: {len(circles)}")
    for c in circles:
        print("  " + " <-> ".join(c))
    print(f"upward imports: {len(upward)}")
    for a, b in upward:
        print(f"  {a} (layer {layer_of(a)}) -> {b} (layer {layer_of(b)})")
    print(f"items declared pub: {pub_items}; pub(crate)/pub(super): {pub_crate}")
    long_fns = [f for f in fns if f[0] > 120]
    print(f"functions over 120 lines: {len(long_fns)} ({sum(1 for f in long_fns if not f[3])} without a stated reason)")
    print("longest functions:")
    for count, where, name, reason in fns[:10]:
        print(f"  {count:5} {where} {name}{' (reason stated)' if reason else ''}")
    if check and (circles or upward or any(not f[3] for f in long_fns)):
        sys.exit(1)


if __name__ == "__main__":
    main()
