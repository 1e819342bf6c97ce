"""Tiny packaged models for the conformance check, built in code: pure-Python SageMaker handlers.

The "model" is ``weights.json`` at the root; ``code/inference.py`` scores the seed's FraudDetection
inputs (account_age, transaction_count, country_code) into fraud_score (NUMERIC) and risk_category
(TEXT). Variants change one thing each, by replacing a marked piece of the good script.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path

WEIGHTS = {"bias": 0.1, "age": 0.01, "count": 0.02}

GOOD_INFERENCE = textwrap.dedent(
    """
    import csv
    import io
    import json
    import os

    def model_fn(model_dir):
        with open(os.path.join(model_dir, "weights.json")) as handle:
            return json.load(handle)

    def input_fn(body, content_type):
        if content_type == "text/csv":
            rows = list(csv.reader(io.StringIO(body)))
            return [
                {"account_age": r[0], "transaction_count": r[1], "country_code": r[2]}
                for r in rows
            ]
        if content_type == "application/json":
            document = json.loads(body)
            return document if isinstance(document, list) else [document]
        raise ValueError("unsupported content type " + content_type)

    def score(record, model):
        return (
            model["bias"]
            + model["age"] * float(record["account_age"])
            + model["count"] * float(record["transaction_count"])
        )

    def predict_fn(records, model):
        predictions = []
        for record in records:
            value = score(record, model)
            label = "high" if value > 0.5 else "low"
            predictions.append({"fraud_score": value, "risk_category": label})
        return predictions

    def output_fn(predictions, accept):
        if accept == "text/csv":
            lines = [str(p["fraud_score"]) + "," + p["risk_category"] for p in predictions]
            return "\\n".join(lines) + "\\n", "text/csv"
        body = predictions[0] if len(predictions) == 1 else predictions
        return json.dumps(body), "application/json"
    """
)


def variant(old: str, new: str, source: str = GOOD_INFERENCE) -> str:
    """The good script with one piece replaced (the piece must be there)."""
    assert old in source, old
    return source.replace(old, new)


WRONG_OUTPUT_NAME = variant('{"fraud_score": value', '{"score": value')
TEXT_AS_NUMBER = variant('label = "high" if value > 0.5 else "low"', "label = 1")
MISSING_OUTPUT_FN = GOOD_INFERENCE[: GOOD_INFERENCE.index("def output_fn")]
RAISES = variant(
    "def predict_fn(records, model):\n",
    "def predict_fn(records, model):\n    raise ValueError('weights are corrupt')\n",
)
HANGS = variant(
    "def predict_fn(records, model):\n",
    "def predict_fn(records, model):\n    import time\n    time.sleep(600)\n",
)
TRANSFORM_FN = textwrap.dedent(
    """
    import json

    def model_fn(model_dir):
        return "loaded"

    def transform_fn(model, body, content_type, accept):
        assert isinstance(body, str), type(body)
        return json.dumps({"fraud_score": 0.25, "risk_category": model}), accept
    """
)


def write_model(
    root: Path,
    inference: str = GOOD_INFERENCE,
    *,
    entry_point: str = "inference.py",
    requirements: str | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """An extracted model folder: weights.json at the root, the script under code/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "weights.json").write_text(json.dumps(WEIGHTS))
    script = root / "code" / entry_point
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(inference)
    if requirements is not None:
        (root / "code" / "requirements.txt").write_text(requirements)
    for name, text in (extra_files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def pack(folder: Path, dest: Path) -> Path:
    """model.tar.gz of a model folder, members relative to it (as the packaging step writes)."""
    with tarfile.open(dest, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return dest


def build_model(tmp_path: Path, inference: str = GOOD_INFERENCE, **kwargs: object) -> Path:
    """A packaged model.tar.gz in ``tmp_path`` built from ``inference``."""
    folder = write_model(tmp_path / "model-src", inference, **kwargs)  # type: ignore[arg-type]
    return pack(folder, tmp_path / "model.tar.gz")


def hostile_archive(dest: Path) -> Path:
    """A model archive with a member that escapes the extraction folder."""
    with tarfile.open(dest, "w:gz") as tar:
        data = b"print('pwned')"
        info = tarfile.TarInfo("../escape.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return dest
