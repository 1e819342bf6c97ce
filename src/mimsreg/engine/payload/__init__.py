"""Sample payloads: generated in the original's layout; custom payloads checked against the schema.

A payload archive is a flat ``payload.tar.gz`` with one file per content type:

- ``payload_text_csv_0.csv``: one headerless line per record, the values in input-variable order,
  quoted by the :mod:`csv` module where needed;
- ``payload_application_json_0.json``: one object per record, input name → value (NUMERIC as
  numbers, TEXT as strings; the original's all-strings form on request). One record is a bare
  object, as the original wrote it; several records are a list of objects.

Generation is deterministic (same spec and options → the same bytes), so registering again stores
the same payload. :func:`load_payload` reads a custom payload (a ``.csv`` or ``.json`` file, a
payload archive, or a folder of those) without extracting anything to disk and raises
:class:`~mimsreg.engine.errors.PayloadError` naming file, row and variable of every mismatch.

``s3://`` payloads are not fetched here: the SageMaker backend downloads the object with its own
client and passes the bytes to :func:`parse_payload_bytes`.

Standard library only, Python 3.9 (it runs inside the processing job too). The modules:
:mod:`.samples` (content types, sample types, values), :mod:`.generate`, :mod:`.load` (custom
payloads) and :mod:`.prepare` (the payload stored with a version).
"""

from __future__ import annotations

from mimsreg.engine.payload.generate import (
    archive_bytes,
    generate_payload_archive,
    generate_samples,
    sample_file_name,
)
from mimsreg.engine.payload.load import load_payload, parse_payload_bytes, unique_keys
from mimsreg.engine.payload.prepare import PreparedPayload, prepare_payload
from mimsreg.engine.payload.samples import (
    CSV_CONTENT_TYPE,
    DEFAULT_NUMERIC_VALUE,
    DEFAULT_TEXT_VALUE,
    JSON_CONTENT_TYPE,
    PAYLOAD_ARCHIVE_NAME,
    SUPPORTED_CONTENT_TYPES,
    PayloadArchive,
    PayloadLimits,
    PayloadSample,
    parse_number,
    sample_value_problems,
)

__all__ = [
    "CSV_CONTENT_TYPE",
    "DEFAULT_NUMERIC_VALUE",
    "DEFAULT_TEXT_VALUE",
    "JSON_CONTENT_TYPE",
    "PAYLOAD_ARCHIVE_NAME",
    "SUPPORTED_CONTENT_TYPES",
    "PayloadArchive",
    "PayloadLimits",
    "PayloadSample",
    "PreparedPayload",
    "archive_bytes",
    "generate_payload_archive",
    "generate_samples",
    "load_payload",
    "parse_number",
    "parse_payload_bytes",
    "prepare_payload",
    "sample_file_name",
    "sample_value_problems",
    "unique_keys",
]
