#!/usr/bin/env python3
"""Reads a schemathesis log; exits 0 when everything it reported is the tool's own crash, 1 otherwise.

A finding against Kumo is a FAILURES section (a check failed: a 5xx, a schema or status violation) or an error that
is not a Python exception raised inside schemathesis or hypothesis (a refused connection, a timeout). A run whose
only errors are tracebacks ending in hypothesis's or schemathesis's own code (seen: `IndexError: Index 47 out of
range [-32, 32)` in hypothesis's shrinker) found nothing: it is reported, and does not fail the run.
"""
import re
import sys

log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
if re.search(r"^=+ FAILURES =+$", log, re.M):
    sys.exit(1)
errors = re.search(r"^=+ ERRORS =+$(.*?)(?:^=+ [A-Z ]+ =+$|\Z)", log, re.M | re.S)
if not errors:
    sys.exit(1)  # schemathesis failed for a reason this script does not know: keep it a failure
blocks = re.split(r"^_{3,} .+ _{3,}$", errors.group(1), flags=re.M)[1:]
if not blocks:
    sys.exit(1)
for block in blocks:
    frames = re.findall(r'File "([^"]+)"', block)
    if "Traceback" not in block or not frames or not re.search(r"site-packages/(hypothesis|schemathesis)/", frames[-1]):
        sys.exit(1)
sys.exit(0)
