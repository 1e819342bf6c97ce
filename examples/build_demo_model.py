"""Build the demo model archive: a tiny real XGBoost fraud model in a SageMaker-style model.tar.gz.

    python examples/build_demo_model.py [-o examples/build/model.tar.gz]

Needs the ``demo`` extra (``pip install -e '.[demo]'``: xgboost-cpu and numpy). It matches
``examples/config.yaml``: inputs ``account_age`` (NUMERIC), ``transaction_count`` (NUMERIC),
``country_code`` (TEXT); outputs ``fraud_score`` (NUMERIC) and ``risk_category`` (TEXT); requests in
text/csv or application/json, responses in application/json (see ``examples/demo_code/inference.py``
for the exact shapes).

The archive::

    xgboost-model.json       the booster (binary:logistic), loadable by xgboost 1.7 to 3.x
    model-metadata.json      input variable order, country_code vocabulary, risk thresholds
    code/inference.py        model_fn, input_fn, predict_fn, output_fn
    code/requirements.txt

Deterministic: the data are synthetic from a fixed seed, training is single-threaded, and the
archive is byte-for-byte reproducible (sorted members, fixed mtime, uid/gid 0, no user names, gzip
header without time or file name), so registering it again yields the same sha256.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CODE_DIR = HERE / "demo_code"
DEFAULT_OUTPUT = HERE / "build" / "model.tar.gz"

SEED = 20240601
ROWS = 2000
ROUNDS = 20
# 2024-01-01T00:00:00Z: every member's mtime, so the archive does not change from run to run.
MTIME = 1704067200
COUNTRIES = ["BR", "CA", "DE", "FR", "GB", "IN", "JP", "NG", "RU", "US"]
# The share of training rows whose country is outside the vocabulary (encoded as missing), so the
# trees learn where unknown codes go.
UNKNOWN_COUNTRY_SHARE = 0.05
COUNTRY_RISK = {"NG": 1.2, "RU": 1.0, "BR": 0.5, "IN": 0.3}
UNKNOWN_COUNTRY_RISK = 0.8
INPUT_VARIABLES = [
    {"name": "account_age", "type": "NUMERIC"},
    {"name": "transaction_count", "type": "NUMERIC"},
    {"name": "country_code", "type": "TEXT"},
]
OUTPUT_VARIABLES = [
    {"name": "fraud_score", "type": "NUMERIC"},
    {"name": "risk_category", "type": "TEXT"},
]
RISK_THRESHOLDS = [{"below": 0.3, "category": "low"}, {"below": 0.7, "category": "medium"}]
TOP_RISK_CATEGORY = "high"
FEATURES = [variable["name"] for variable in INPUT_VARIABLES]


def _require_demo_extra() -> tuple[Any, Any]:
    try:
        import numpy as np
        import xgboost as xgb
    except ImportError as exc:
        raise SystemExit(
            f"{exc.name} is not installed: install the demo extra (pip install -e '.[demo]')"
        ) from exc
    return np, xgb


def make_dataset(seed: int = SEED, rows: int = ROWS) -> tuple[Any, Any]:
    """Synthetic accounts: young, busy accounts in some countries are more often fraudulent."""
    np, _ = _require_demo_extra()
    rng = np.random.default_rng(seed)
    account_age = rng.gamma(shape=2.0, scale=300.0, size=rows).round()  # days
    transaction_count = rng.poisson(lam=8.0, size=rows).astype(float)
    country_index = rng.integers(0, len(COUNTRIES), size=rows).astype(float)
    unknown = rng.random(rows) < UNKNOWN_COUNTRY_SHARE
    country_index[unknown] = np.nan
    country_risk = np.array([COUNTRY_RISK.get(code, 0.0) for code in COUNTRIES])
    known_risk = country_risk[np.nan_to_num(country_index, nan=0).astype(int)]
    risk = np.where(unknown, UNKNOWN_COUNTRY_RISK, known_risk)
    logit = -2.0 - account_age / 250.0 + transaction_count / 6.0 + risk
    label = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    features = np.column_stack([account_age, transaction_count, country_index]).astype(np.float32)
    return features, label


def train(features: Any, label: Any) -> Any:
    """A small gradient-boosted model; one thread and a fixed seed make it reproducible."""
    _, xgb = _require_demo_extra()
    matrix = xgb.DMatrix(features, label=label, feature_names=FEATURES, missing=float("nan"))
    params = {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "max_depth": 3,
        "eta": 0.3,
        "tree_method": "hist",
        "nthread": 1,
        "seed": 0,
        # An explicit intercept: xgboost 1.7 (the SageMaker 1.7-1 image) reads the scalar form.
        "base_score": 0.5,
    }
    return xgb.train(params, matrix, num_boost_round=ROUNDS)


def model_json(booster: Any, features: Any) -> bytes:
    """The booster as JSON that xgboost 1.7 to 3.x load and score identically.

    xgboost >= 3.1 writes ``base_score`` as a vector (``"[5E-1]"``); xgboost 1.7 silently reads that
    as its default instead of failing, so it is written back in the scalar form both versions read.
    The result is loaded again here and must score the training data exactly as the booster does.
    """
    np, xgb = _require_demo_extra()
    model = json.loads(bytes(booster.save_raw(raw_format="json")))
    params = model["learner"]["learner_model_param"]
    base_score = params["base_score"].strip("[]")
    if "," in base_score:
        raise SystemExit(f"expected one intercept, got base_score {params['base_score']!r}")
    params["base_score"] = base_score
    data = json.dumps(model, separators=(",", ":")).encode("utf-8")

    reloaded = xgb.Booster()
    reloaded.load_model(bytearray(data))
    matrix = xgb.DMatrix(features, feature_names=FEATURES, missing=float("nan"))
    if not np.array_equal(reloaded.predict(matrix), booster.predict(matrix)):
        raise SystemExit("the rewritten model JSON scores differently: xgboost changed its format")
    return data


def metadata_json() -> bytes:
    """What inference.py needs besides the booster, in a stable form."""
    metadata = {
        "input_variables": INPUT_VARIABLES,
        "output_variables": OUTPUT_VARIABLES,
        "vocabularies": {"country_code": COUNTRIES},
        "risk_thresholds": RISK_THRESHOLDS,
        "top_risk_category": TOP_RISK_CATEGORY,
        "training": {"seed": SEED, "rows": ROWS, "rounds": ROUNDS},
    }
    return (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode("utf-8")


def archive_bytes(members: dict[str, bytes]) -> bytes:
    """A reproducible gzipped tar of ``members`` (name -> content), sorted by name."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(members[name]))
    compressed = io.BytesIO()
    # filename="" and mtime=0 keep the output's name and the build time out of the gzip header.
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    """Train the demo model and write its archive to ``output``; returns the path."""
    features, label = make_dataset()
    booster = train(features, label)
    members = {
        "xgboost-model.json": model_json(booster, features),
        "model-metadata.json": metadata_json(),
        "code/inference.py": (CODE_DIR / "inference.py").read_bytes(),
        "code/requirements.txt": (CODE_DIR / "requirements.txt").read_bytes(),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(archive_bytes(members))
    partial.replace(output)  # never leave a half-written archive under the final name
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write model.tar.gz"
    )
    args = parser.parse_args(argv)
    path = build(args.output)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"wrote {path} ({path.stat().st_size} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
