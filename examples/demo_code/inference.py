"""SageMaker inference handlers of the mimsreg demo fraud model (packaged as code/inference.py).

The archive built by ``examples/build_demo_model.py`` holds, at its root, ``xgboost-model.json`` (an
XGBoost binary:logistic booster) and ``model-metadata.json`` (the input variable order, the
country_code vocabulary and the risk thresholds), and this file under ``code/``. The handlers run
in the SageMaker XGBoost serving container (``sagemaker-xgboost:1.7-1``: Python 3.8, xgboost 1.7)
and locally wherever xgboost and numpy are installed, so this file keeps to Python 3.8 syntax.

Requests (``input_fn`` parses them, ``predict_fn`` encodes them with the model's vocabulary), the
input variables in this order: ``account_age`` (NUMERIC), ``transaction_count`` (NUMERIC),
``country_code`` (TEXT).

- ``text/csv``: one record per line, no header, values in the order above, such as
  ``400,12,US``. An empty numeric field is a missing value.
- ``application/json``: one object ``{"account_age": 400, "transaction_count": 12,
  "country_code": "US"}`` or a list of such objects. ``null`` is a missing value; other keys are
  ignored; a missing key is an error.

country_code is upper-cased and looked up in the training vocabulary; an unknown code is a missing
value, which the trees route along the branch they learned for countries outside the vocabulary.

Responses (``output_fn``), ``application/json`` unless the Accept header asks for ``text/csv``:

- one record in (a JSON object, or a CSV body of one line):
  ``{"fraud_score": 0.0312, "risk_category": "low"}``
- several records in (a JSON list, even of one object, or several CSV lines): a list of such
  objects, in request order.
- ``text/csv``: one line ``<fraud_score>,<risk_category>`` per record, no header.

``fraud_score`` is the probability of fraud (a float in [0, 1]); ``risk_category`` is ``low``
(score < 0.3), ``medium`` (< 0.7) or ``high``. ``output_fn`` returns ``(body, content_type)``, which
the SageMaker inference toolkit sends as the response and its content type.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

MODEL_FILE = "xgboost-model.json"
METADATA_FILE = "model-metadata.json"
CSV = "text/csv"
JSON = "application/json"


class FraudModel:
    """The booster with what it needs to encode requests and label scores."""

    def __init__(self, booster: xgb.Booster, metadata: dict[str, Any]) -> None:
        self.booster = booster
        self.features = [variable["name"] for variable in metadata["input_variables"]]
        self.vocabularies = {
            name: {code: index for index, code in enumerate(codes)}
            for name, codes in metadata["vocabularies"].items()
        }
        self.thresholds = [(float(t["below"]), t["category"]) for t in metadata["risk_thresholds"]]
        self.top_category = metadata["top_risk_category"]

    def encode(self, name: str, value: Any) -> float:
        """One request value as the float the booster was trained on (NaN: missing)."""
        if value is None:
            return math.nan
        if name in self.vocabularies:
            return float(self.vocabularies[name].get(str(value).strip().upper(), math.nan))
        if isinstance(value, bool):
            raise ValueError(f"{name}: expected a number, got {value!r}")
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return math.nan
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: expected a number, got {value!r}") from exc

    def category(self, score: float) -> str:
        for below, category in self.thresholds:
            if score < below:
                return category
        return self.top_category


class Batch:
    """Encoded request rows, and whether the request held a single record."""

    def __init__(self, rows: list[list[float]], single: bool) -> None:
        self.rows = rows
        self.single = single


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def model_fn(model_dir: str) -> FraudModel:
    """Load the booster and its metadata from the extracted model archive."""
    root = Path(model_dir)
    booster = xgb.Booster()
    booster.load_model(str(root / MODEL_FILE))
    metadata = json.loads((root / METADATA_FILE).read_text(encoding="utf-8"))
    return FraudModel(booster, metadata)


def input_fn(request_body: str | bytes, content_type: str) -> dict[str, Any]:
    """Parse a text/csv or application/json request into records, checking their shape.

    The values are encoded (country_code through the training vocabulary) in ``predict_fn``,
    which has the model and its metadata; ``input_fn`` is not given the model.
    """
    text = (
        request_body.decode("utf-8")
        if isinstance(request_body, (bytes, bytearray))
        else request_body
    )
    media_type = _media_type(content_type)
    if media_type == CSV:
        lines = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
        if not lines:
            raise ValueError("empty text/csv request: expected one record per line")
        return {"rows": lines, "single": len(lines) == 1, "format": CSV}
    if media_type == JSON:
        payload = json.loads(text)
        single = isinstance(payload, dict)
        records = [payload] if single else payload
        if not isinstance(records, list) or not records:
            raise ValueError("application/json request: expected an object or a non-empty list")
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise ValueError(f"application/json record {index}: expected an object")
        return {"rows": records, "single": single, "format": JSON}
    raise ValueError(f"unsupported content type {content_type!r}: use {CSV} or {JSON}")


def _encode(input_data: dict[str, Any], model: FraudModel) -> Batch:
    rows: list[list[float]] = []
    for index, record in enumerate(input_data["rows"]):
        if input_data["format"] == CSV:
            if len(record) != len(model.features):
                raise ValueError(
                    f"text/csv line {index + 1}: expected {len(model.features)} values "
                    f"({', '.join(model.features)}), got {len(record)}"
                )
            values = dict(zip(model.features, record))
        else:
            missing = [name for name in model.features if name not in record]
            if missing:
                raise ValueError(f"application/json record {index}: missing {', '.join(missing)}")
            values = record
        rows.append([model.encode(name, values[name]) for name in model.features])
    return Batch(rows, input_data["single"])


def predict_fn(input_data: dict[str, Any], model: FraudModel) -> dict[str, Any]:
    """Score the records: a fraud probability and its risk category each."""
    batch = _encode(input_data, model)
    matrix = xgb.DMatrix(
        np.asarray(batch.rows, dtype=np.float32), missing=math.nan, feature_names=model.features
    )
    scores = model.booster.predict(matrix)
    records = [
        {"fraud_score": float(score), "risk_category": model.category(float(score))}
        for score in scores
    ]
    return {"records": records, "single": batch.single}


def output_fn(prediction: dict[str, Any], accept: str | None) -> tuple[str, str]:
    """Serialise the prediction as JSON (default) or CSV; returns ``(body, content_type)``."""
    wanted = [_media_type(part) for part in (accept or "").split(",")]
    for media_type in wanted:
        if media_type in ("", "*/*", "application/*", JSON):
            records = prediction["records"]
            body = records[0] if prediction["single"] else records
            return json.dumps(body), JSON
        if media_type in (CSV, "text/*"):
            lines = [f"{r['fraud_score']!r},{r['risk_category']}" for r in prediction["records"]]
            return "\n".join(lines) + "\n", CSV
    raise ValueError(f"unsupported accept type {accept!r}: use {JSON} or {CSV}")
