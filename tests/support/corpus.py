"""A corpus of real inference scripts, one per serving convention, for scikit-learn, XGBoost and a
plain-Python model, each packaged with a small model trained by the Python that will serve it.

Written for the tests (not copied): numeric inputs f0, f1, f2; one NUMERIC output, ``score``.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

FRAMEWORKS = ("sklearn", "xgboost", "plain")
# The image each model is configured with (the plain-Python model rides on the scikit-learn one).
IMAGES = {
    "sklearn": ("sklearn", "1.2-1"),
    "xgboost": ("xgboost", "1.7-1"),
    "plain": ("sklearn", "1.2-1"),
}

ROWS = [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 5.0, 7.0], [4.0, 4.0, 4.0]]
# Three records, no trailing newline: the XGBoost image's CSV decoder refuses one.
CSV_BODY = b"1,2,3\n4,5,6\n7,8,9"

TRAIN = {
    "sklearn": """
        import sys, joblib, numpy as np
        from sklearn.linear_model import LinearRegression
        X = np.array({rows}); y = X @ np.array([0.5, 0.25, 0.1])
        joblib.dump(LinearRegression().fit(X, y), sys.argv[1] + "/model.joblib")
    """,
    "xgboost": """
        import sys, numpy as np, xgboost as xgb
        X = np.array({rows}); y = X @ np.array([0.5, 0.25, 0.1])
        booster = xgb.train({{"max_depth": 2}}, xgb.DMatrix(X, label=y), num_boost_round=3)
        booster.save_model(sys.argv[1] + "/xgboost-model.json")
    """,
    "plain": """
        import sys, json
        json.dump({{"weights": [0.5, 0.25, 0.1]}}, open(sys.argv[1] + "/weights.json", "w"))
    """,
}

LOAD = {
    "sklearn": """
        import joblib
        return joblib.load(os.path.join(model_dir, "model.joblib"))
    """,
    "xgboost": """
        import xgboost
        booster = xgboost.Booster()
        booster.load_model(os.path.join(model_dir, "xgboost-model.json"))
        return booster
    """,
    "plain": """
        with open(os.path.join(model_dir, "weights.json")) as handle:
            return Linear(json.load(handle)["weights"])
    """,
}

HEADER = """
import json
import os


class Linear:
    \"\"\"A plain-Python model: predict() over rows of numbers, as scikit-learn's.\"\"\"

    def __init__(self, weights):
        self.weights = weights

    def predict(self, rows):
        return [sum(w * float(x) for w, x in zip(self.weights, row)) for row in rows]

"""

# What the script adds to model_fn, per convention. Missing handlers are the image's defaults.
CONVENTIONS: dict[str, str] = {
    # The most common real pattern: the container supplies input_fn, predict_fn and output_fn; its
    # JSON encoder writes the prediction array as a flat JSON array, [0.9, 1.9, 3.0].
    "model_fn_only": "",
    # The toolkit's context argument, given a default so that sagemaker-containers' plain calls
    # work too; no output_fn (the image's encoder).
    "context": """
def predict_fn(input_data, model, context=None):
    return model.predict(input_data)
""",
    "transform_fn": """
def transform_fn(model, body, content_type, accept):
    import numpy as np
    rows = np.array([line.split(",") for line in body.strip().splitlines()], dtype=float)
    if model.__class__.__name__ == "Booster":
        import xgboost
        rows = xgboost.DMatrix(rows)
    scores = [float(value) for value in model.predict(rows)]
    return json.dumps([{"score": value} for value in scores]), "application/json"
""",
    # What the scikit-learn container's own default output_fn returns: a Flask response.
    "flask_response": """
def output_fn(prediction, accept):
    from flask import Response
    body = json.dumps([[float(value)] for value in prediction])
    return Response(response=body, status=200, mimetype="application/json")
""",
}


def script(framework: str, convention: str, *, model_fn_params: str = "model_dir") -> str:
    """The inference script of one framework in one convention."""
    load = textwrap.indent(textwrap.dedent(LOAD[framework]).strip(), "    ")
    if convention == "context":
        model_fn_params = "model_dir, context=None"
    return f"{HEADER}\ndef model_fn({model_fn_params}):\n{load}\n\n{CONVENTIONS[convention]}"


def train(python: str, framework: str, model_dir: Path) -> None:
    """Train the framework's small model with ``python`` (the one serving it) into the folder."""
    code = textwrap.dedent(TRAIN[framework]).format(rows=ROWS)
    model_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-c", code, str(model_dir)], check=True, capture_output=True)


def config(framework: str) -> dict[str, Any]:
    """Registration keyword arguments for the corpus models of one framework."""
    name, version = IMAGES[framework]
    return {
        "framework": name,
        "framework_version": version,
        "inference_instance_type": "ml.m5.large",
        "model_owner": "my-team-id",
        "model_registration_domain": "BuyerSellerMessaging",
        "model_registration_objective": "Corpus",
        "source_model_inference_content_types": ["text/csv"],
        "source_model_inference_response_types": ["application/json"],
        "source_model_inference_output_variable_list": {"score": "NUMERIC"},
        "source_model_inference_input_variable_list": {
            "f0": "NUMERIC",
            "f1": "NUMERIC",
            "f2": "NUMERIC",
        },
    }
