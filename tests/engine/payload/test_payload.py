"""Sample payloads: the original's layout, determinism, values, and checks of custom payloads."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mimsreg.config import ModelRegistrationConfig, config_errors
from mimsreg.engine.payload import (
    DEFAULT_TEXT_VALUE,
    SUPPORTED_CONTENT_TYPES,
    PayloadLimits,
    PayloadSample,
    archive_bytes,
    generate_payload_archive,
    generate_samples,
    load_payload,
    parse_number,
    parse_payload_bytes,
    sample_file_name,
)
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.errors import ConfigError, PayloadError
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke


def spec_of(kwargs: dict[str, Any], **changes: Any) -> RegistrationSpec:
    return ModelRegistrationConfig(**{**kwargs, **changes}).to_spec()


@pytest.fixture
def spec(seed_kwargs: dict[str, Any]) -> RegistrationSpec:
    """The seed's FraudDetection example: account_age, transaction_count (NUMERIC), country_code."""
    return spec_of(seed_kwargs)


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        result = {}
        for member in tar.getmembers():
            extracted = tar.extractfile(member)
            assert extracted is not None
            result[member.name] = extracted.read()
        return result


def tar_gz(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in entries:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def file_info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


# --- generation ---------------------------------------------------------------------------------


def test_archive_has_the_originals_layout(spec: RegistrationSpec, tmp_path: Path) -> None:
    """One flat file for the configured content type, one headerless line in input order."""
    archive = generate_payload_archive(spec, tmp_path / "payload.tar.gz")
    files = members(archive.path.read_bytes())
    assert files == {"payload_text_csv_0.csv": b"0.0,0.0,DEFAULT_TEXT\n"}
    assert archive.to_dict()["samples"] == [
        {"name": "payload_text_csv_0.csv", "content_type": "text/csv", "size": 21, "records": 1}
    ]


def test_all_content_types_and_json_types(spec: RegistrationSpec) -> None:
    """Both files, sorted; JSON holds one object with numbers for NUMERIC, strings for TEXT."""
    samples = generate_samples(spec, content_types=SUPPORTED_CONTENT_TYPES)
    assert [s.name for s in samples] == [
        "payload_application_json_0.json",
        "payload_text_csv_0.csv",
    ]
    document = json.loads(samples[0].body)
    assert document == {
        "account_age": 0.0,
        "transaction_count": 0.0,
        "country_code": "DEFAULT_TEXT",
    }
    assert isinstance(document["account_age"], float)


def test_all_strings_is_the_originals_json(spec: RegistrationSpec) -> None:
    """--strings writes every JSON value as a string; such a payload still validates."""
    (sample,) = generate_samples(spec, content_types=["application/json"], all_strings=True)
    assert json.loads(sample.body) == {
        "account_age": "0.0",
        "transaction_count": "0.0",
        "country_code": "DEFAULT_TEXT",
    }
    (parsed,) = parse_payload_bytes(sample.name, sample.body, spec)
    assert parsed.records == (
        {"account_age": 0.0, "transaction_count": 0.0, "country_code": "DEFAULT_TEXT"},
    )


def test_generation_is_deterministic(spec: RegistrationSpec, tmp_path: Path) -> None:
    """Same spec, same bytes: fixed mtimes and owners, gzip without name or time, sorted members."""
    first = generate_payload_archive(
        spec, tmp_path / "a.tar.gz", content_types=SUPPORTED_CONTENT_TYPES
    )
    second = generate_payload_archive(
        spec, tmp_path / "b.tar.gz", content_types=SUPPORTED_CONTENT_TYPES
    )
    data = first.path.read_bytes()
    assert data == second.path.read_bytes()
    assert first.sha256 == second.sha256
    assert data[3] == 0  # gzip flags: no file name
    assert data[4:8] == b"\0\0\0\0"  # gzip mtime
    with tarfile.open(first.path) as tar:
        for member in tar.getmembers():
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
                0,
                0,
                0,
                "",
                "",
            )
            assert member.mode == 0o644
            assert member.isfile()
        assert tar.getnames() == sorted(tar.getnames())
    assert oct(first.path.stat().st_mode & 0o777) == oct(0o644)


def test_generation_is_the_same_on_python_39(
    spec: RegistrationSpec, tmp_path: Path, python39: str
) -> None:
    """The processing job's Python 3.9 writes the same archive bytes and reads them back."""
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1])\n"
        "from mimsreg.engine.spec import RegistrationSpec\n"
        "from mimsreg.engine.payload import generate_payload_archive, load_payload\n"
        "from mimsreg.engine.payload import SUPPORTED_CONTENT_TYPES as BOTH\n"
        "spec = RegistrationSpec.from_dict(json.loads(sys.argv[2]))\n"
        "archive = generate_payload_archive(spec, sys.argv[3], 2, content_types=BOTH)\n"
        "assert len(load_payload(sys.argv[3], spec)) == 2\n"
        "assert 'pydantic' not in sys.modules\n"
        "print(archive.sha256)\n"
    )
    dest = tmp_path / "p39.tar.gz"
    result = subprocess.run(
        [python39, "-I", "-c", code, str(REPO_ROOT / "src"), json.dumps(spec.to_dict()), str(dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    here = generate_payload_archive(
        spec, tmp_path / "here.tar.gz", 2, content_types=SUPPORTED_CONTENT_TYPES
    )
    assert result.stdout.strip() == here.sha256


def test_csv_quotes_texts_with_commas_quotes_and_newlines(seed_kwargs: dict[str, Any]) -> None:
    """Texts are quoted by the csv module and read back intact."""
    text = 'Smith, "Jr."\nline two'
    spec = spec_of(seed_kwargs, payload_sample_values={"country_code": text})
    (sample,) = generate_samples(spec)
    assert sample.body == b'0.0,0.0,"Smith, ""Jr.""\nline two"\n'
    assert list(csv.reader(io.StringIO(sample.body.decode(), newline=""))) == [["0.0", "0.0", text]]
    (parsed,) = parse_payload_bytes(sample.name, sample.body, spec)
    assert parsed.records[0]["country_code"] == text


def test_overrides_from_config_and_arguments(seed_kwargs: dict[str, Any]) -> None:
    """payload_sample_values fill their inputs (numeric strings become numbers); arguments win."""
    spec = spec_of(seed_kwargs, payload_sample_values={"account_age": "7", "country_code": "FR"})
    samples = generate_samples(spec, content_types=SUPPORTED_CONTENT_TYPES)
    assert json.loads(samples[0].body) == {
        "account_age": 7,
        "transaction_count": 0.0,
        "country_code": "FR",
    }
    assert samples[1].body == b"7,0.0,FR\n"
    (sample,) = generate_samples(spec, overrides={"transaction_count": 2.5, "country_code": "DE"})
    assert sample.body == b"7,2.5,DE\n"
    with pytest.raises(PayloadError, match="'colour' is not an input variable"):
        generate_samples(spec, overrides={"colour": "red"})


def test_rows_make_several_records(spec: RegistrationSpec) -> None:
    """rows=N: N CSV lines; a JSON list of N objects."""
    json_sample, csv_sample = generate_samples(spec, rows=3, content_types=SUPPORTED_CONTENT_TYPES)
    assert csv_sample.body.count(b"\n") == 3
    assert len(json.loads(json_sample.body)) == 3
    assert len(json_sample.records) == 3
    with pytest.raises(PayloadError, match="rows must be between 1 and"):
        generate_samples(spec, rows=0)


def test_generation_refuses_unknown_content_types(spec: RegistrationSpec) -> None:
    """Only text/csv and application/json payloads exist."""
    with pytest.raises(PayloadError, match="'text/plain'"):
        generate_samples(spec, content_types=["text/plain"])
    with pytest.raises(PayloadError, match="no content type"):
        generate_samples(spec, content_types=[])
    assert sample_file_name("application/json", 2) == "payload_application_json_2.json"


def test_too_many_rows_for_a_payload_file(seed_kwargs: dict[str, Any]) -> None:
    """A sample larger than a payload file may be is refused, not written."""
    spec = spec_of(seed_kwargs, payload_sample_values={"country_code": "x" * 2000})
    with pytest.raises(PayloadError, match="use fewer rows"):
        generate_samples(spec, rows=10_000)


def test_64_inputs_in_the_legacy_shape_round_trip(
    seed_kwargs: dict[str, Any], tmp_path: Path
) -> None:
    """A 64-input config written as a list of pairs generates, then validates, in every form."""
    pairs = [[f"feature_{i:02d}", "NUMERIC" if i % 3 else "TEXT"] for i in range(64)]
    config_file = tmp_path / "wide.json"
    config_file.write_text(
        json.dumps(
            {
                **seed_kwargs,
                "source_model_inference_input_variable_list": pairs,
                "payload_sample_values": {"feature_01": 1.5, "feature_03": "x,y"},
            }
        )
    )
    spec = ModelRegistrationConfig.from_file(config_file).to_spec()
    assert [name for name, _ in spec.input_variables] == [name for name, _ in pairs]
    for all_strings in (False, True):
        archive = generate_payload_archive(
            spec,
            tmp_path / "wide.tar.gz",
            2,
            content_types=SUPPORTED_CONTENT_TYPES,
            all_strings=all_strings,
        )
        samples = load_payload(archive.path, spec)
        assert [s.name for s in samples] == [s.name for s in archive.samples]
        for sample, generated in zip(samples, archive.samples, strict=True):
            assert sample.records == generated.records
            assert len(sample.records) == 2
            assert list(sample.records[0]) == [name for name, _ in pairs]
            assert sample.records[0]["feature_01"] == 1.5
            assert sample.records[0]["feature_03"] == "x,y"


def test_no_inputs_still_makes_a_payload(seed_kwargs: dict[str, Any]) -> None:
    """The seed's default of no input variables gives an empty record in both forms."""
    spec = spec_of(seed_kwargs, source_model_inference_input_variable_list={})
    json_sample, csv_sample = generate_samples(spec, content_types=SUPPORTED_CONTENT_TYPES)
    assert json.loads(json_sample.body) == {}
    assert parse_payload_bytes("x.json", json_sample.body, spec)[0].records == ({},)
    assert csv_sample.body == b"\n"


def test_archive_into_a_folder_and_nothing_half_written(
    spec: RegistrationSpec, tmp_path: Path
) -> None:
    """A folder as destination holds payload.tar.gz; an unwritable one leaves nothing behind."""
    archive = generate_payload_archive(spec, tmp_path)
    assert archive.path == tmp_path / "payload.tar.gz"
    with pytest.raises(PayloadError, match="cannot write"):
        generate_payload_archive(spec, tmp_path / "missing" / "payload.tar.gz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payload.tar.gz"]
    target = tmp_path / "occupied.tar.gz"
    target.mkdir()
    (target / "payload.tar.gz").mkdir()
    with pytest.raises(PayloadError, match="cannot write"):
        generate_payload_archive(spec, target)
    assert sorted(p.name for p in target.iterdir()) == ["payload.tar.gz"]


# --- the config field ---------------------------------------------------------------------------


def test_sample_values_must_name_inputs(seed_kwargs: dict[str, Any]) -> None:
    """An unknown name is a field error naming it, with a suggestion."""
    seed_kwargs["payload_sample_values"] = {"acount_age": 3}
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    (error,) = config_errors(excinfo.value)
    assert error.field == "payload_sample_values"
    assert error.message == "'acount_age' is not an input variable; did you mean 'account_age'?"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("old", "'account_age' is NUMERIC: 'old' is not a number"),
        ("nan", "'account_age' is NUMERIC: 'nan' is not a finite number"),
        (float("inf"), "'account_age' is NUMERIC: inf is not a finite number"),
        (True, "the value of 'account_age' must be a number or a string, got True"),
        ([1], "the value of 'account_age' must be a number or a string, got [1]"),
    ],
)
def test_numeric_sample_values_are_numbers(
    seed_kwargs: dict[str, Any], value: Any, message: str
) -> None:
    """NUMERIC inputs take numbers or numeric strings; the error names the variable."""
    seed_kwargs["payload_sample_values"] = {"account_age": value}
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    errors = config_errors(excinfo.value)
    assert [e.field for e in errors] == ["payload_sample_values"]
    assert errors[0].message == message


def test_sample_values_from_a_file_are_field_errors(
    tmp_path: Path, seed_kwargs: dict[str, Any]
) -> None:
    """from_file reports every problem of the field at once."""
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps({**seed_kwargs, "payload_sample_values": {"nope": 1, "account_age": "x"}})
    )
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_file(path)
    (error,) = excinfo.value.errors
    assert "'nope' is not an input variable" in error.message
    assert "'account_age' is NUMERIC: 'x' is not a number" in error.message


def test_sample_values_with_a_broken_input_list_report_only_the_list(
    seed_kwargs: dict[str, Any],
) -> None:
    """When the input list itself is invalid, only the list is reported."""
    seed_kwargs["source_model_inference_input_variable_list"] = {"a": "BLOB"}
    seed_kwargs["payload_sample_values"] = {"b": 1}
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert {e.field.split(".")[0] for e in config_errors(excinfo.value)} == {
        "source_model_inference_input_variable_list"
    }


def test_spec_carries_sample_values_and_keeps_old_hashes(seed_kwargs: dict[str, Any]) -> None:
    """Unset, the field is absent from to_dict (same hash as before it existed); set, it counts."""
    plain = spec_of(seed_kwargs)
    assert "payload_sample_values" not in plain.to_dict()
    assert RegistrationSpec.from_dict(plain.to_dict()).metadata_hash() == plain.metadata_hash()
    valued = spec_of(seed_kwargs, payload_sample_values={"account_age": 4, "country_code": "FR"})
    assert valued.to_dict()["payload_sample_values"] == {"account_age": 4, "country_code": "FR"}
    assert RegistrationSpec.from_dict(json.loads(json.dumps(valued.to_dict()))) == valued
    assert valued.metadata_hash() != plain.metadata_hash()


def test_config_schema_documents_the_field() -> None:
    """The JSON Schema describes payload_sample_values with its defaults."""
    schema = ModelRegistrationConfig.json_schema()
    assert DEFAULT_TEXT_VALUE in schema["properties"]["payload_sample_values"]["description"]


# --- custom payloads ----------------------------------------------------------------------------


def problems_of(excinfo: pytest.ExceptionInfo[PayloadError]) -> list[str]:
    return [line.strip() for line in str(excinfo.value).splitlines()[1:]]


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_custom_csv_and_json_files_load(spec: RegistrationSpec, tmp_path: Path) -> None:
    """Good files give samples with typed records; a BOM and CRLF are fine."""
    csv_file = write(tmp_path / "mine.csv", b'\xef\xbb\xbf12,3.5,"F,R"\r\n1e3,-2,DE\r\n')
    (sample,) = load_payload(csv_file, spec)
    assert sample.content_type == "text/csv"
    assert sample.records == (
        {"account_age": 12, "transaction_count": 3.5, "country_code": "F,R"},
        {"account_age": 1000.0, "transaction_count": -2, "country_code": "DE"},
    )
    json_file = write(
        tmp_path / "mine.json",
        json.dumps([{"account_age": 1, "transaction_count": "2", "country_code": "FR"}]),
    )
    (sample,) = load_payload(str(json_file), spec)
    assert sample.to_dict() == {
        "name": "mine.json",
        "content_type": "application/json",
        "size": json_file.stat().st_size,
        "records": 1,
    }
    assert sample.records[0]["transaction_count"] == 2


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "short.csv",
            "1,2\n",
            "short.csv, row 1, variable 'country_code': 2 value(s) for 3 input variables; "
            "no value for 'country_code'",
        ),
        (
            "long.csv",
            "1,2,FR\n1,2,FR,extra\n",
            "long.csv, row 2, variable 'country_code': 4 values for 3 input variables: "
            "1 extra value(s) after the last variable",
        ),
        (
            "nan.csv",
            "1,2,FR\nold,2,FR\n",
            "nan.csv, row 2, variable 'account_age': NUMERIC value 'old' is not a number",
        ),
        (
            "empty-number.csv",
            ",2,FR\n",
            "empty-number.csv, row 1, variable 'account_age': NUMERIC value '' is not a number",
        ),
        (
            "header.csv",
            "account_age,transaction_count,country_code\n1,2,FR\n",
            "header.csv, row 1: is a header (the variable names): payload CSV files are headerless",
        ),
        ("quote.csv", '1,2,"FR\n', "quote.csv: is not valid CSV: unexpected end of data"),
        ("empty.csv", "", "empty.csv: holds no records"),
        (
            "missing.json",
            '{"account_age": 1, "transaction_count": 2}',
            "missing.json, row 1, variable 'country_code': is missing",
        ),
        (
            "unknown.json",
            '[{"account_age": 1, "transaction_count": 2, "country_code": "FR"},'
            ' {"account_age": 1, "transaction_count": 2, "country_code": "FR", "contry": "x"}]',
            "unknown.json, row 2, variable 'contry': is not an input variable "
            "(did you mean 'country_code'?)",
        ),
        (
            "text-number.json",
            '{"account_age": 1, "transaction_count": 2, "country_code": 33}',
            "text-number.json, row 1, variable 'country_code': TEXT expects a string, "
            "got a number 33",
        ),
        (
            "bool.json",
            '{"account_age": true, "transaction_count": 2, "country_code": "FR"}',
            "bool.json, row 1, variable 'account_age': NUMERIC expects a number, "
            "got a boolean True",
        ),
        (
            "word.json",
            '{"account_age": "old", "transaction_count": null, "country_code": "FR"}',
            "word.json, row 1, variable 'account_age': NUMERIC expects a number, "
            "got a string 'old'",
        ),
        ("bad.json", "{", "bad.json: is not valid JSON: Expecting property name"),
        (
            "dup.json",
            '{"account_age": 1, "account_age": 2}',
            "dup.json: is not valid JSON: duplicate key 'account_age'",
        ),
        (
            "scalar.json",
            "3",
            "scalar.json: must hold an object (input name → value) or a non-empty list of "
            "objects, got a number",
        ),
        (
            "list.json",
            "[[1, 2, 3]]",
            "list.json: must be an object (input name → value), got an array",
        ),
        (
            "latin.csv",
            b"1,2,Fran\xe7e\n",
            "latin.csv: is not UTF-8 text (invalid continuation byte",
        ),
    ],
)
def test_bad_custom_payloads_name_file_row_and_variable(
    spec: RegistrationSpec, tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    """Each mismatch is one line: file, row (1-based) and variable, then what is wrong."""
    path = write(tmp_path / name, content)
    with pytest.raises(PayloadError) as excinfo:
        load_payload(path, spec)
    assert str(excinfo.value).startswith(
        f"payload {str(path)!r} does not match the input variables"
    )
    assert problems_of(excinfo)[0].startswith(expected), problems_of(excinfo)


def test_word_json_reports_both_values(spec: RegistrationSpec, tmp_path: Path) -> None:
    """All problems of a payload are reported at once."""
    path = write(
        tmp_path / "w.json",
        '{"account_age": "old", "transaction_count": null, "country_code": "FR"}',
    )
    with pytest.raises(PayloadError) as excinfo:
        load_payload(path, spec)
    assert problems_of(excinfo) == [
        "w.json, row 1, variable 'account_age': NUMERIC expects a number, got a string 'old'",
        "w.json, row 1, variable 'transaction_count': NUMERIC expects a number, got null None",
    ]


def test_problems_are_capped(spec: RegistrationSpec, tmp_path: Path) -> None:
    """A thousand bad rows give fifty lines and a count of the rest."""
    path = write(tmp_path / "many.csv", "x,2,FR\n" * 1000)
    with pytest.raises(PayloadError, match=r"\(1000 problem\(s\)\)") as excinfo:
        load_payload(path, spec)
    lines = problems_of(excinfo)
    assert len(lines) == 51
    assert lines[-1] == "... and 950 more"


@pytest.mark.parametrize("name", ["payload.txt", "model.bin", "payload.tar"])
def test_not_csv_or_json_is_refused(spec: RegistrationSpec, tmp_path: Path, name: str) -> None:
    """Only .csv, .json and .tar.gz payloads exist."""
    path = write(tmp_path / name, "1,2,FR\n")
    with pytest.raises(PayloadError, match=f"{name!r} is not a payload file"):
        load_payload(path, spec)
    with pytest.raises(PayloadError, match="is not a payload file"):
        parse_payload_bytes(name, b"1,2,FR\n", spec)


def test_missing_payload_and_s3_uris(spec: RegistrationSpec, tmp_path: Path) -> None:
    """A missing path is named; s3:// is left to the SageMaker backend, saying so."""
    with pytest.raises(PayloadError, match="does not exist"):
        load_payload(tmp_path / "nope.csv", spec)
    with pytest.raises(PayloadError, match="fetched by the SageMaker backend"):
        load_payload("s3://bucket/payload.tar.gz", spec)


def test_a_payload_archive_loads_in_memory(spec: RegistrationSpec, tmp_path: Path) -> None:
    """A tar.gz with ./ names, a folder entry and a hidden file loads; nothing is written."""
    archive = tar_gz(
        [
            (file_info("./", tarfile.DIRTYPE), b""),
            (file_info("./payload_text_csv_0.csv"), b"1,2,FR\n"),
            (file_info("._payload_text_csv_0.csv"), b"\0\0junk"),
        ]
    )
    path = write(tmp_path / "payload.tar.gz", archive)
    (sample,) = load_payload(path, spec)
    assert sample.name == "payload_text_csv_0.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payload.tar.gz"]
    (again,) = parse_payload_bytes("upload.tgz", archive, spec)
    assert again.records == sample.records


def test_a_bad_file_inside_an_archive_is_named(spec: RegistrationSpec, tmp_path: Path) -> None:
    """Problems inside an archive name the member, its row and the variable."""
    archive = tar_gz(
        [
            (file_info("payload_text_csv_0.csv"), b"1,2,FR\n1,x,FR\n"),
            (file_info("notes.txt"), b"hello"),
        ]
    )
    path = write(tmp_path / "payload.tar.gz", archive)
    with pytest.raises(PayloadError) as excinfo:
        load_payload(path, spec)
    assert problems_of(excinfo) == [
        "payload_text_csv_0.csv, row 2, variable 'transaction_count': NUMERIC value 'x' is not "
        "a number",
        "notes.txt: is not a payload file: an archive holds .csv and .json",
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (file_info("link.csv", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link to '/etc/passwd'"),
        (file_info("hard.csv", tarfile.LNKTYPE, "other.csv"), "hard link to 'other.csv'"),
        (file_info("fifo.csv", tarfile.FIFOTYPE), "device or FIFO"),
        (file_info("/etc/cron.d/x.csv"), "has an absolute path; refused"),
        (file_info("../escape.csv"), "points outside the archive"),
        (file_info("a/../../escape.csv"), "points outside the archive"),
        (file_info("C:/windows.csv"), "has an absolute path"),
    ],
)
def test_hostile_archives_are_refused(
    spec: RegistrationSpec, tmp_path: Path, entry: tarfile.TarInfo, message: str
) -> None:
    """Links, devices, absolute and escaping names stop the read; nothing is extracted."""
    path = write(tmp_path / "payload.tar.gz", tar_gz([(entry, b"")]))
    with pytest.raises(PayloadError, match=re.escape("payload.tar.gz")) as excinfo:
        load_payload(path, spec)
    assert message in str(excinfo.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payload.tar.gz"]


def test_archive_size_caps(spec: RegistrationSpec, tmp_path: Path) -> None:
    """Per-file, total and file-count caps refuse an archive before reading it all."""
    good = b"1,2,FR\n" * 10
    path = write(
        tmp_path / "payload.tar.gz",
        tar_gz([(file_info(f"p{i}.csv"), good) for i in range(3)]),
    )
    with pytest.raises(PayloadError, match="more than a payload file may hold"):
        load_payload(path, spec, limits=PayloadLimits(max_file_bytes=50))
    with pytest.raises(PayloadError, match="more than 100 bytes uncompressed"):
        load_payload(path, spec, limits=PayloadLimits(max_total_bytes=100))
    with pytest.raises(PayloadError, match="more than 2 files"):
        load_payload(path, spec, limits=PayloadLimits(max_files=2))
    bomb = tar_gz([(file_info("zeros.csv"), b"0" * 5_000_000)])
    assert len(bomb) < 50_000
    with pytest.raises(PayloadError, match="more than a payload file may hold"):
        parse_payload_bytes("bomb.tar.gz", bomb, spec, limits=PayloadLimits(max_file_bytes=10**6))
    with pytest.raises(PayloadError, match=re.escape("'big.csv' is 100 bytes")):
        parse_payload_bytes("big.csv", b"1" * 100, spec, limits=PayloadLimits(max_file_bytes=50))
    assert len(load_payload(path, spec)) == 3


def test_single_file_size_cap(spec: RegistrationSpec, tmp_path: Path) -> None:
    """A single payload file over the cap is refused before it is read."""
    path = write(tmp_path / "big.csv", "1,2,FR\n" * 100)
    with pytest.raises(PayloadError, match=re.escape("'big.csv' is 700 bytes")):
        load_payload(path, spec, limits=PayloadLimits(max_file_bytes=100))


def test_duplicate_members_and_non_archives(spec: RegistrationSpec, tmp_path: Path) -> None:
    """A name twice, a truncated or non-gzip archive: refused with the archive's name."""
    twice = tar_gz([(file_info("a.csv"), b"1,2,FR\n"), (file_info("./a.csv"), b"1,2,FR\n")])
    with pytest.raises(PayloadError, match=re.escape("'a.csv' appears twice")):
        parse_payload_bytes("payload.tar.gz", twice, spec)
    with pytest.raises(
        PayloadError, match=re.escape("payload.tar.gz is not a readable .tar.gz archive")
    ):
        parse_payload_bytes("payload.tar.gz", b"1,2,FR\n", spec)
    rows = "".join(f"{i},{i * 7 % 13},FR\n" for i in range(5000)).encode()
    whole = tar_gz([(file_info("a.csv"), rows)])
    truncated = whole[: len(whole) // 2]
    with pytest.raises(PayloadError, match=re.escape("is not a readable .tar.gz archive")):
        load_payload(write(tmp_path / "cut.tgz", truncated), spec)
    with pytest.raises(PayloadError, match=re.escape("holds no .csv or .json sample")):
        parse_payload_bytes("payload.tar.gz", tar_gz([]), spec)


def test_a_folder_of_payload_files(spec: RegistrationSpec, tmp_path: Path) -> None:
    """A flat folder: .csv, .json and archives in name order; hidden files skipped."""
    folder = tmp_path / "mims_payload"
    folder.mkdir()
    write(folder / "b.csv", "1,2,FR\n")
    write(folder / "a.json", '{"account_age": 1, "transaction_count": 2, "country_code": "FR"}')
    write(folder / ".DS_Store", b"\0\1")
    write(folder / "c.tar.gz", tar_gz([(file_info("inner.csv"), b"3,4,DE\n")]))
    names = [sample.name for sample in load_payload(folder, spec)]
    assert names == ["a.json", "b.csv", "c.tar.gz:inner.csv"]
    write(folder / "d.csv", "1,2\n")
    with pytest.raises(PayloadError) as excinfo:
        load_payload(folder, spec)
    assert problems_of(excinfo)[0].startswith("d.csv, row 1, variable 'country_code'")
    (folder / "d.csv").unlink()
    write(folder / "c.tar.gz", tar_gz([(file_info("inner.csv"), b"x,4,DE\n")]))
    with pytest.raises(PayloadError) as excinfo:
        load_payload(folder, spec)
    assert problems_of(excinfo)[0].startswith("c.tar.gz:inner.csv, row 1, variable 'account_age'")


def test_folder_rules(spec: RegistrationSpec, tmp_path: Path) -> None:
    """Empty folders, nested folders, links and too many files are refused."""
    folder = tmp_path / "p"
    folder.mkdir()
    with pytest.raises(PayloadError, match=re.escape("holds no .csv or .json sample")):
        load_payload(folder, spec)
    (folder / "nested").mkdir()
    with pytest.raises(PayloadError, match=r"'nested' .* is a folder"):
        load_payload(folder, spec)
    (folder / "nested").rmdir()
    target = write(tmp_path / "real.csv", "1,2,FR\n")
    (folder / "link.csv").symlink_to(target)
    with pytest.raises(PayloadError, match=r"'link\.csv' .* is not a regular file"):
        load_payload(folder, spec)
    (folder / "link.csv").unlink()
    for index in range(3):
        write(folder / f"{index}.csv", "1,2,FR\n")
    with pytest.raises(PayloadError, match="more than 2 payload files"):
        load_payload(folder, spec, limits=PayloadLimits(max_files=2))


def test_parse_number() -> None:
    """Integers stay integers; decimals, exponents and nan/inf are floats; words are not numbers."""
    assert parse_number(" 42 ") == 42
    assert isinstance(parse_number("42"), int)
    assert parse_number("-.5e2") == -50.0
    assert parse_number("1.") == 1.0
    assert str(parse_number("NaN")) == "nan"
    assert parse_number("-Infinity") == float("-inf")
    for word in ("", "1_000", "0x10", "one", "1e", "--1", "True"):
        assert parse_number(word) is None, word


def test_archive_bytes_of_any_samples() -> None:
    """archive_bytes packs given samples in name order, whatever their order."""
    samples = [
        PayloadSample("b.csv", "text/csv", b"1\n", ({"x": 1},)),
        PayloadSample("a.csv", "text/csv", b"2\n", ({"x": 2},)),
    ]
    data = archive_bytes(samples)
    assert data == archive_bytes(list(reversed(samples)))
    assert list(members(data)) == ["a.csv", "b.csv"]


# --- the command --------------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path, seed_kwargs: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**seed_kwargs, "payload_sample_values": {"country_code": "FR"}}))
    return path


def test_cli_writes_payload_tar_gz(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mimsreg payload CONFIG writes ./payload.tar.gz and says what is in it."""
    monkeypatch.chdir(tmp_path)
    result = invoke("payload", str(config_file))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote payload.tar.gz (")
    assert "payload_text_csv_0.csv  text/csv  1 record(s)" in result.stdout
    assert members((tmp_path / "payload.tar.gz").read_bytes()) == {
        "payload_text_csv_0.csv": b"0.0,0.0,FR\n"
    }


def test_cli_options(config_file: Path, tmp_path: Path) -> None:
    """-o, --rows, --all-content-types, --strings and --json."""
    dest = tmp_path / "out.tar.gz"
    result = invoke(
        *[
            "payload",
            str(config_file),
            "-o",
            str(dest),
            "--rows",
            "2",
            "--all-content-types",
            "--strings",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["path"] == str(dest)
    assert [s["records"] for s in report["samples"]] == [2, 2]
    files = members(dest.read_bytes())
    assert json.loads(files["payload_application_json_0.json"])[1]["account_age"] == "0.0"


def test_cli_validate(config_file: Path, tmp_path: Path) -> None:
    """--validate: exit 0 for a good payload, 2 with one line per problem for a bad one."""
    good = write(tmp_path / "good.csv", "1,2,FR\n")
    result = invoke("payload", str(config_file), "--validate", str(good))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"{good}: valid, 1 sample(s)"
    result = invoke("payload", str(config_file), "--validate", str(good), "--json")
    assert json.loads(result.stdout)["samples"][0]["records"] == 1
    bad = write(tmp_path / "bad.csv", "1,x,FR\n1,2\n")
    result = invoke("payload", str(config_file), "--validate", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        "  bad.csv, row 1, variable 'transaction_count': NUMERIC value 'x' is not a number",
        "  bad.csv, row 2, variable 'country_code': 2 value(s) for 3 input variables; no value "
        "for 'country_code'",
    ]
    assert "Traceback" not in result.output


def test_cli_bad_input_exits_2(config_file: Path, tmp_path: Path) -> None:
    """--validate with generation options, a bad config or an unwritable output: exit 2."""
    result = invoke("payload", str(config_file), "--validate", "x.csv", "--rows", "2")
    assert result.exit_code == 2
    assert "--validate takes no" in result.output
    bad_config = write(tmp_path / "bad.yaml", "payload_sample_values: {nope: 1}\n")
    result = invoke("payload", str(bad_config))
    assert result.exit_code == 2
    assert "payload_sample_values: 'nope' is not an input variable" in result.stderr
    result = invoke("payload", str(config_file), "-o", str(tmp_path / "no" / "p.tar.gz"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_payload_command_is_light(config_file: Path, tmp_path: Path) -> None:
    """mimsreg payload imports neither boto3 nor the sagemaker SDK."""
    from tests.support.imports import heavy_in, modules_after

    args = ["payload", str(config_file), "-o", str(tmp_path / "p.tar.gz")]
    code = (
        "import contextlib, io\n"
        "from mimsreg.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try:\n        cli({args!r})\n    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
    )
    assert heavy_in(modules_after(code)) == set()
    assert (tmp_path / "p.tar.gz").is_file()
