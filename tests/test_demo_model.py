"""The demo model archive (examples/build_demo_model.py): reproducible, SageMaker-shaped, works."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mimsreg.config import ModelRegistrationConfig
from tests.conftest import EXAMPLE_CONFIG, REPO_ROOT

DEMO_EXTRA = "needs the demo extra (pip install -e '.[demo]'; `make install` installs it)"
pytest.importorskip("numpy", reason=DEMO_EXTRA)
pytest.importorskip("xgboost", reason=DEMO_EXTRA)

BUILD_SCRIPT = REPO_ROOT / "examples" / "build_demo_model.py"
MEMBERS = [
    "code/inference.py",
    "code/requirements.txt",
    "model-metadata.json",
    "xgboost-model.json",
]


def build(output: Path) -> bytes:
    """Run the build script as a user would, in its own process."""
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert str(output) in result.stdout
    return output.read_bytes()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One built archive shared by the tests of this module."""
    path = tmp_path_factory.mktemp("demo") / "model.tar.gz"
    build(path)
    return path


@pytest.fixture(scope="module")
def model_dir(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive extracted as SageMaker does into /opt/ml/model (regular files only)."""
    root = tmp_path_factory.mktemp("model")
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            assert member.isfile()
            target = root / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
    return root


@pytest.fixture(scope="module")
def handlers(model_dir: Path) -> ModuleType:
    """code/inference.py of the extracted copy, imported as the serving container imports it."""
    spec = importlib.util.spec_from_file_location(
        "demo_inference", model_dir / "code" / "inference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model(handlers: ModuleType, model_dir: Path) -> Any:
    return handlers.model_fn(str(model_dir))


def invoke(
    handlers: ModuleType, model: Any, body: str | bytes, content_type: str, accept: str | None
) -> tuple[str, str]:
    """The four handlers in the order the SageMaker inference toolkit calls them."""
    data = handlers.input_fn(body, content_type)
    prediction = handlers.predict_fn(data, model)
    result: tuple[str, str] = handlers.output_fn(prediction, accept)
    return result


def assert_record(record: Any) -> None:
    assert set(record) == {"fraud_score", "risk_category"}
    assert isinstance(record["fraud_score"], float)
    assert 0.0 <= record["fraud_score"] <= 1.0
    assert record["risk_category"] in ("low", "medium", "high")


def test_build_is_byte_for_byte_reproducible(archive: Path, tmp_path: Path) -> None:
    """Two separate runs write identical bytes, so re-registering finds the same sha256."""
    assert build(tmp_path / "again.tar.gz") == archive.read_bytes()


def test_archive_has_the_sagemaker_layout(archive: Path) -> None:
    """Model files at the root, handlers under code/, fixed metadata in every header."""
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == MEMBERS
    for member in members:
        assert member.isfile()
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mode == 0o644
        assert member.mtime == members[0].mtime
    header = archive.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # gzip MTIME unset
    assert not header[3] & 0x08  # no FNAME: the output's name is not recorded


def test_metadata_matches_the_example_config(model_dir: Path) -> None:
    """The model speaks exactly the variables examples/config.yaml registers, in that order."""
    config = ModelRegistrationConfig.from_file(EXAMPLE_CONFIG)
    spec = config.to_spec()
    metadata = json.loads((model_dir / "model-metadata.json").read_text(encoding="utf-8"))
    as_pairs = [(v["name"], v["type"]) for v in metadata["input_variables"]]
    assert tuple(as_pairs) == spec.input_variables
    assert tuple((v["name"], v["type"]) for v in metadata["output_variables"]) == (
        spec.output_variables
    )
    assert (model_dir / "code" / spec.inference_entry_point).is_file()


def test_csv_request_gives_json_response(handlers: ModuleType, model: Any) -> None:
    """The config's content types: a headerless CSV line in, a JSON object out."""
    body, content_type = invoke(handlers, model, "400,12,US\n", "text/csv", "application/json")
    assert content_type == "application/json"
    assert_record(json.loads(body))


def test_csv_lines_give_a_list_in_order(handlers: ModuleType, model: Any) -> None:
    """Several CSV lines give a list, one object per line in request order."""
    rows = ["2000,1,DE", "3,60,NG", "", "400,12,us"]
    body, _ = invoke(handlers, model, "\n".join(rows).encode("utf-8"), "text/csv", None)
    records = json.loads(body)
    assert len(records) == 3
    for record in records:
        assert_record(record)
    # The synthetic risk is higher for young, busy accounts in risky countries.
    assert records[0]["fraud_score"] < records[1]["fraud_score"]


def test_json_object_and_list(handlers: ModuleType, model: Any) -> None:
    """A JSON object gives an object; a JSON list (even of one) gives a list."""
    record = {"account_age": 30, "transaction_count": 25, "country_code": "NG", "extra": 1}
    single, _ = invoke(handlers, model, json.dumps(record), "application/json", "*/*")
    listed, _ = invoke(handlers, model, json.dumps([record]), "application/json; charset=utf-8", "")
    assert_record(json.loads(single))
    assert json.loads(listed) == [json.loads(single)]


def test_country_codes_are_encoded_as_in_training(handlers: ModuleType, model: Any) -> None:
    """Codes are matched in any case; an unknown code is scored as a missing value."""
    base = {"account_age": 50, "transaction_count": 20}
    scores = {}
    for code in ("us", "US", " US ", "ZZ", None):
        body, _ = invoke(
            handlers, model, json.dumps({**base, "country_code": code}), "application/json", None
        )
        scores[code] = json.loads(body)["fraud_score"]
    assert scores["us"] == scores["US"] == scores[" US "]
    assert scores["ZZ"] == scores[None]
    assert not math.isnan(scores["ZZ"])


def test_csv_accept_gives_csv(handlers: ModuleType, model: Any) -> None:
    """Accept text/csv gives `score,category` lines."""
    body, content_type = invoke(
        handlers, model, "400,12,US\n10,30,RU\n", "text/csv", "text/csv, application/json"
    )
    assert content_type == "text/csv"
    lines = body.splitlines()
    assert len(lines) == 2
    score, category = lines[0].split(",")
    assert 0.0 <= float(score) <= 1.0
    assert category in ("low", "medium", "high")


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "message"),
    [
        ("400,12", "text/csv", None, "expected 3 values"),
        ("abc,12,US", "text/csv", None, "account_age: expected a number"),
        ("\n\n", "text/csv", None, "empty text/csv request"),
        ('{"account_age": 1, "country_code": "US"}', "application/json", None, "transaction_c"),
        ('{"account_age": true, "transaction_count": 1, "country_code": "US"}',
         "application/json", None, "account_age: expected a number"),
        ("[]", "application/json", None, "non-empty list"),
        ("[1]", "application/json", None, "record 0: expected an object"),
        ("400,12,US", "application/x-npy", None, "unsupported content type"),
        ("400,12,US", "text/csv", "application/x-protobuf", "unsupported accept type"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_with_a_reason(
    handlers: ModuleType,
    model: Any,
    body: str,
    content_type: str,
    accept: str | None,
    message: str,
) -> None:
    """A request the model cannot answer raises ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        invoke(handlers, model, body, content_type, accept)


def find_python38() -> str | None:
    candidates = sorted(Path.home().glob(".pyenv/versions/3.8*/bin/python3.8"))
    return str(candidates[-1]) if candidates else None


def test_handlers_are_python_38_syntax(model_dir: Path) -> None:
    """The SageMaker XGBoost 1.7-1 serving image has Python 3.8: the handlers compile there."""
    python38 = find_python38()
    if python38 is None:
        pytest.skip("no Python 3.8 interpreter on this machine (pyenv install 3.8 to run this)")
    source = model_dir / "code" / "inference.py"
    code = "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')"
    result = subprocess.run(
        [python38, "-I", "-c", code, str(source)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
