"""Model folders (models registered uncompressed) for tests, and the manifest digest computed
independently of mimsreg's code, as docs/package-inspection.md defines it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["expected_digest", "write_model_folder"]


def write_model_folder(folder: Path, shards: int = 2, shard_bytes: int = 300_000) -> Path:
    """``folder`` with code/inference.py, code/requirements.txt, config.json and ``shards``
    weight files (distinct bytes) under weights/."""
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "inference.py").write_text(
        "def model_fn(model_dir):\n    return 1\n\n\n"
        "def predict_fn(data, model):\n    return data\n"
    )
    (folder / "code" / "requirements.txt").write_text("")
    (folder / "config.json").write_text('{"layers": 2}\n')
    (folder / "weights").mkdir()
    for index in range(shards):
        (folder / "weights" / f"shard-{index:02d}.safetensors").write_bytes(
            bytes([index + 1]) * shard_bytes + os.urandom(16)
        )
    return folder


def expected_digest(folder: Path) -> str:
    """sha256 of the compact ASCII JSON ``[[path, size, sha256], ...]`` sorted by path, links
    followed: written from the definition, not from mimsreg.engine.package.folder."""
    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rows.append(
            [path.relative_to(folder).as_posix(), len(data), hashlib.sha256(data).hexdigest()]
        )
    rows.sort()
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode("ascii")).hexdigest()
