"""The figures of docs/check.md ("Measured"): what the snooping model of the tests reaches.

Run from the repository root with the mimsreg to measure first on the path::

    PYTHONPATH=src:. .venv/bin/python scripts/isolation_figures.py bwrap   # or none, auto
    PYTHONPATH=/path/to/old/src:. .venv/bin/python scripts/isolation_figures.py before

``before`` calls a check_model without the isolation option (a checkout before issue 18).
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SEED_EXAMPLE
from tests.support.snooping_model import seen, sleepers, snooping_model

from mimsreg.check import check_model
from mimsreg.config import ModelRegistrationConfig


def measure(mode: str) -> dict[str, Any]:
    """Run the check of the snooping model once; what it saw and left behind."""
    patch = pytest.MonkeyPatch()
    try:
        with tempfile.TemporaryDirectory() as root, snooping_model(Path(root), patch) as snoop:
            spec = ModelRegistrationConfig(**SEED_EXAMPLE).to_spec()
            options = {} if mode == "before" else {"isolation": mode}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                report = check_model(snoop.model, spec, **options)  # type: ignore[arg-type]
            saw = seen(report)
            return {
                "passed": report.passed,
                "isolation": getattr(report, "isolation", "(no option)"),
                "warnings": [str(warning.message)[:100] + "..." for warning in caught],
                "variables_seen": saw["env"],
                "credentials_read": saw["creds"],
                "wrote_into_MIMSREG_HOME": (snoop.inventory / "forged-approval.txt").exists(),
                "connections_to_listener": snoop.connections(),
                "sleep_left_after_check": len(sleepers(snoop.marker)),
                "seconds": round(report.duration_seconds, 2),
            }
    finally:
        patch.undo()


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1] if len(sys.argv) > 1 else "auto"), indent=1))
