"""The host's inflater: zlib-ng when it is installed, else the standard library's zlib.

The engine reads archives with whatever :class:`~mimsreg.engine.package.Inflater` it is given and
defaults to the stdlib (the processing job's Python has nothing else). On the host, ``zlib-ng``
(a default dependency) inflates with the CRC-32 check in about half the CPU time of zlib 1.2.13,
which is most of what ``inspect`` costs beyond the SHA-256 (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import os

from mimsreg.engine.package import STDLIB_INFLATER, Inflater

__all__ = ["DISABLE_ENV", "host_inflater"]

# Set to 1 to inflate with the stdlib on the host too (a comparison, or a suspected zlib-ng bug).
DISABLE_ENV = "MIMSREG_NO_ZLIB_NG"


@functools.cache
def _zlib_ng() -> Inflater | None:
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return None
    # Its stub declares `error: Exception`; at run time it is the exception class.
    error: type[Exception] = zlib_ng.error  # type: ignore[assignment]
    return Inflater(f"zlib-ng {zlib_ng.ZLIBNG_VERSION}", zlib_ng.decompressobj, error)


def host_inflater() -> Inflater:
    """zlib-ng's inflater when importable (and not disabled by ``MIMSREG_NO_ZLIB_NG=1``)."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return STDLIB_INFLATER
    return _zlib_ng() or STDLIB_INFLATER
