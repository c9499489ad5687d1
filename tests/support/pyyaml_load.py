#!/usr/bin/env python3
"""Reads a JSON list of YAML texts on stdin; prints a JSON list of [ok, data-or-error] as
PyYAML (a YAML 1.1 reader, over libyaml when available) loads each text's first document."""
import datetime
import json
import sys

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def plain(v):
    if isinstance(v, dict):
        return {str(k) if not isinstance(k, str) else k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, (datetime.date, datetime.datetime, bytes)):
        return str(v)
    return v


out = []
for text in json.load(sys.stdin):
    try:
        docs = yaml.load_all(text, Loader=Loader)
        first = next(iter(docs), None)
        out.append([True, plain(first)])
    except Exception as e:  # noqa: BLE001 - any refusal counts
        out.append([False, type(e).__name__])
json.dump(out, sys.stdout)
