"""The check's verdicts: one per sample, and the report of a whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class SampleResult:
    """The verdict on one sample: passed, or the reasons it failed."""

    name: str
    content_type: str
    accept: str
    records: int
    passed: bool
    reasons: tuple[str, ...] = ()
    response_content_type: str | None = None
    response_preview: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (part of ``mimsreg check --json``)."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "accept": self.accept,
            "records": self.records,
            "status": "pass" if self.passed else "fail",
            "reasons": list(self.reasons),
            "response_content_type": self.response_content_type,
            "response_preview": self.response_preview,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_model` found: one result per sample and, if the model as a whole failed
    (import, missing handler, ``model_fn``, requirements, time limit), why."""

    model: str
    entry_point: str
    samples: tuple[SampleResult, ...]
    error: str | None = None
    notes: tuple[str, ...] = ()
    log_tail: tuple[str, ...] = field(default=())
    duration_seconds: float = 0.0
    isolation: str = "none"
    warnings: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when the model loaded and every sample passed."""
        return self.error is None and bool(self.samples) and all(s.passed for s in self.samples)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (the ``--json`` output of ``mimsreg check``)."""
        return {
            "model": self.model,
            "entry_point": self.entry_point,
            "passed": self.passed,
            "error": self.error,
            "samples": [sample.to_dict() for sample in self.samples],
            "notes": list(self.notes),
            "log_tail": list(self.log_tail),
            "duration_seconds": round(self.duration_seconds, 3),
            "isolation": self.isolation,
            "warnings": list(self.warnings),
        }
