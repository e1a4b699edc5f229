"""Errors for input the parsers cannot read. Every one names the file, the line and the reason."""

from __future__ import annotations


class ExtractError(Exception):
    """Base class: an extract (or the manifest) cannot be read as what it claims to be."""

    reason_code = "extract_error"

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")

    def to_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "code": self.reason_code,
            "file": self.source,
            "line": self.line,
            "reason": self.reason,
        }


class EmptyExtractError(ExtractError):
    reason_code = "empty"


class BinaryExtractError(ExtractError):
    reason_code = "binary"


class ExtractEncodingError(ExtractError):
    reason_code = "encoding"


class UnknownLayoutError(ExtractError):
    reason_code = "unknown_layout"


class TruncatedExtractError(ExtractError):
    reason_code = "truncated"


class MalformedRowError(ExtractError):
    reason_code = "malformed_row"


class UnreconcilableBlockError(ExtractError):
    reason_code = "unreconcilable"


class ManifestError(ExtractError):
    reason_code = "manifest"
