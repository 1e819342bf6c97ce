"""What SageMaker checks on its side, applied before a request is sent.

botocore validates types and lengths against its model, never patterns or enums; SageMaker
refuses the rest server-side (``ValidationException``). The rules kept here, each from the
SageMaker API reference and botocore's service model (``service-2.json``, shape named):

- ``CustomerMetadataProperties``: at most 50 entries, keys 1-128 and values 1-256 characters of
  ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` (shapes ``CustomerMetadataKey``, ``CustomerMetadataValue``).
  Values outside it are encoded losslessly: ``b64:`` + standard base64 of the UTF-8 text (every
  base64 character is allowed); a value too long even then is replaced by ``sha256:<hex>`` of the
  text, and the whole text lives in the record document beside the version, which is what
  ``show`` reads.
- ``ModelPackageDescription``/``ApprovalDescription``: at most 1024 characters of
  ``[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]`` (shape ``EntityDescription``): control and format
  characters (a newline, a tab) become spaces; the text as written is kept in the record and the
  approval history.
- ``SupportedTransformInstanceTypes`` members must be ``TransformInstanceType`` values and
  ``SupportedRealtimeInferenceInstanceTypes`` members ``ProductionVariantInstanceType`` values:
  types outside the client's enum are left out (both lists are optional).
- Versions carry no ``Tags`` ("Tags are not supported in Model Package versions. Please add them
  to the Model Package Group"): the group carries them.

Portable (runs in the processing job on Python 3.9): standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = [
    "METADATA_MAX_ENTRIES",
    "decode_metadata_value",
    "encode_metadata_value",
    "entity_description",
    "enum_values",
    "metadata_text_allowed",
]

METADATA_MAX_ENTRIES = 50
METADATA_VALUE_MAX = 256
DESCRIPTION_MAX = 1024
ENCODED_PREFIX = "b64:"
_METADATA_PUNCTUATION = frozenset("_.:/=+-@")


def metadata_text_allowed(text: str) -> bool:
    """Whether every character is one of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``."""
    return all(unicodedata.category(ch)[0] in "LZN" or ch in _METADATA_PUNCTUATION for ch in text)


def encode_metadata_value(text: str) -> str:
    """A value SageMaker accepts for ``text``: itself when allowed, else a lossless encoding."""
    if (
        0 < len(text) <= METADATA_VALUE_MAX
        and metadata_text_allowed(text)
        and not text.startswith(ENCODED_PREFIX)
    ):
        return text
    encoded = ENCODED_PREFIX + base64.b64encode(text.encode("utf-8")).decode("ascii")
    if len(encoded) <= METADATA_VALUE_MAX:
        return encoded
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def decode_metadata_value(value: str) -> str:
    """The text ``encode_metadata_value`` encoded (a ``sha256:`` stand-in stays as it is)."""
    if value.startswith(ENCODED_PREFIX):
        try:
            return base64.b64decode(value[len(ENCODED_PREFIX) :], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return value
    return value


def entity_description(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """``text`` as an ``EntityDescription``: characters outside letters, marks, separators,
    symbols, numbers and punctuation become spaces; at most ``limit`` characters."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] in "LMZSNP" else " " for ch in text)
    return cleaned[:limit]


def enum_values(client: Any, shape_name: str) -> frozenset[str] | None:
    """The values of an enum shape in the client's service model; None when it has no such
    shape (then nothing is filtered)."""
    try:
        shape = client.meta.service_model.shape_for(shape_name)
    except Exception:  # botocore's NoShapeError: an older or other model
        return None
    values = getattr(shape, "enum", None)
    return frozenset(values) if values else None


def within(values: Iterable[str], allowed: frozenset[str] | None) -> list[str]:
    """``values`` in order, without those outside ``allowed`` (all of them when None)."""
    return [value for value in values if allowed is None or value in allowed]
