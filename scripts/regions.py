#!/usr/bin/env python3
"""Prints each partition's regions from the partition data aws-sdk-eks embeds (its
endpoint_lib has no public accessor), for src/aws/discover.rs's PARTITION_REGIONS.

    python3 scripts/regions.py [~/.cargo/registry/src/*/aws-sdk-eks-<version>]
"""
import glob
import json
import os
import re
import sys

if len(sys.argv) > 1:
    crate = sys.argv[1]
else:
    found = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/aws-sdk-eks-*")))
    if not found:
        sys.exit("aws-sdk-eks not found in ~/.cargo/registry: build kctx first")
    crate = found[-1]
src = open(os.path.join(crate, "src", "endpoint_lib.rs")).read()
raw = re.search(r'new_from_json\(b"(.*?)"\)\.expect', src, re.S).group(1)
data = json.loads(raw.encode().decode("unicode_escape"))
print(f"// from {os.path.basename(crate)}")
for p in data["partitions"]:
    regions = sorted(r for r in p["regions"] if not r.endswith("global"))
    print(f'("{p["id"]}", &{json.dumps(regions)}),')
