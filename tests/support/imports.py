"""Which modules a snippet of Python loads, run in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

__all__ = ["HEAVY", "heavy_in", "modules_after"]

HEAVY = ("boto3", "botocore", "sagemaker")


def modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = (
        subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    return set(json.loads(out))


def heavy_in(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}
