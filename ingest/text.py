"""Decoding and the small text clean-ups both layouts share."""

from __future__ import annotations

import html
import re

from ingest.errors import BinaryExtractError, EmptyExtractError, ExtractEncodingError

_BOM = b"\xef\xbb\xbf"
# Control characters other than tab/newline/carriage return/form feed mark a binary file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")
DASHES = "\u2013\u2014\u2012\u2010\u2011\u2212-"


def decode_extract(data: bytes, source: str) -> list[str]:
    """Bytes -> lines. UTF-8 with or without BOM; CRLF, CR and LF all give the same lines.

    Windows-1252 (or any non-UTF-8) input is rejected rather than guessed: every byte string
    decodes "successfully" as cp1252, so a guess could silently turn a mis-encoded file into
    wrong names. The error says where the first bad byte is and how to convert the file.
    """
    if not data.strip():
        raise EmptyExtractError(source, None, "file is empty (no text at all)")
    wide = _utf16_or_32(data)
    if wide is not None:
        raise ExtractEncodingError(
            source,
            None,
            f"the file is {wide} text, not UTF-8; extracts must be UTF-8. Convert it with "
            f"`iconv -f {wide} -t UTF-8 FILE > FILE.utf8` (or save it as UTF-8)",
        )
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise BinaryExtractError(
            source, line, "file is binary (contains NUL bytes), not a text extract"
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExtractEncodingError(
            source,
            line,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "extracts must be UTF-8. A Windows-1252 file can be converted with "
            "`iconv -f WINDOWS-1252 -t UTF-8`",
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = _CONTROL.findall(text)
    if len(controls) > max(8, len(text) // 1000):
        m = _CONTROL.search(text)
        where = text[: m.start()].count("\n") + 1 if m else None
        raise BinaryExtractError(
            source, where, "file is binary (control characters), not a text extract"
        )
    return text.split("\n")


def _utf16_or_32(data: bytes) -> str | None:
    """The UTF-16/32 encoding a file is saved in (its byte order mark, or, without one, text
    whose every second byte in the first kilobyte is NUL), else None."""
    for bom, name in (
        (b"\xff\xfe\x00\x00", "UTF-32LE"),
        (b"\x00\x00\xfe\xff", "UTF-32BE"),
        (b"\xff\xfe", "UTF-16LE"),
        (b"\xfe\xff", "UTF-16BE"),
    ):
        if data.startswith(bom):
            return name
    head = data[:1024]
    if len(head) >= 4:
        odd, even = head[1::2], head[0::2]
        if odd.count(0) == len(odd) and even.count(0) == 0:
            return "UTF-16LE"
        if even.count(0) == len(even) and odd.count(0) == 0:
            return "UTF-16BE"
    return None


def strip_tags(fragment: str) -> str:
    """HTML fragment -> plain text with single spaces."""
    return squash(html.unescape(_TAG.sub(" ", fragment)))


def squash(text: str) -> str:
    # str.split() is several times faster than a regex substitution on this hot path.
    return " ".join(text.split())


def normalise_name(name: str) -> str:
    """Trim and fold white space; dashes are kept as written."""
    return squash(name)
