"""Personal identity numbers never stored: the one masking rule.

Every landed file is masked as it is archived, and every load parses the masked archived copy,
so a personnummer or samordningsnummer reaches no table, reject, archive or log, whatever field
it was typed into. UTF-8 and Windows-1252 files are masked as bytes (`mask_bytes`: the same
characters, found without decoding), UTF-16 and UTF-32 files as decoded text (`mask_text`).
The rule (docs/inputs.md §1, personal data): 10 or 12 digits, `YYMMDD` (or `YYYYMMDD`), an
optional separator (`SEPARATORS`), four digits; month 01–12, day 01–31 (samordningsnummer: day
+ 60); and a valid Luhn check digit, so that ordinary ten-digit numbers (voucher ids, amounts)
mostly survive.
"""

from __future__ import annotations

import re
from contextlib import suppress

import pyarrow as pa
import pyarrow.compute as pc
from stdnum import luhn

MASK = "[personnummer]"

# What stands between the date and the last four digits: docs/inputs.md names `-`, `+`, a space,
# the no-break spaces (U+00A0, U+202F), an en dash, or nothing; text pasted from a PDF or a
# word processor brings their neighbours (thin and figure spaces, the Unicode hyphens, the em
# dash, the minus sign). Masking more than was asked for costs a voucher number now and then;
# missing one leaks a person.
SEPARATORS = "-+ \u00a0\u202f\u2009\u2007\u2010\u2011\u2012\u2013\u2014\u2212"


def _separator_bytes() -> list[bytes]:
    """Each separator as bytes in the byte encodings a text file is masked in: UTF-8,
    Windows-1252 and CP437 (a SIE file's; the last two where they have the character). A lone
    byte above 0x7f after an ASCII digit cannot be part of a UTF-8 character, so one pattern
    serves them all without decoding. (UTF-16 and UTF-32 files are decoded and masked as
    text: `MaskedCopy`.)"""
    forms = set()
    for ch in SEPARATORS:
        forms.add(ch.encode("utf-8"))
        for single_byte in ("cp1252", "cp437"):
            with suppress(UnicodeEncodeError):  # neither has U+202F, nor all the dashes
                forms.add(ch.encode(single_byte))
    return sorted(forms, key=lambda b: (-len(b), b))


def _byte_escapes(form: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in form)


_SEPARATOR_ALTERNATIVES = "|".join(_byte_escapes(b) for b in _separator_bytes())
_SEPARATOR = ("(?:" + _SEPARATOR_ALTERNATIVES + ")?").encode()
# Not part of a longer number, nor the decimals of one (a logged duration of seconds).
_BYTES = re.compile(
    rb"(?<![0-9])(?<![0-9][.,])(?:(?:19|20)[0-9]{2}|[0-9]{2})([0-9]{2})([0-9]{2})"
    + _SEPARATOR
    + rb"([0-9]{4})(?![0-9])(?![.,][0-9])"
)
_TEXT = re.compile(
    r"(?<![0-9])(?<![0-9][.,])(?:(?:19|20)[0-9]{2}|[0-9]{2})([0-9]{2})([0-9]{2})"
    "[" + re.escape(SEPARATORS) + r"]?([0-9]{4})(?![0-9])(?![.,][0-9])"
)


def is_identity_number(yymmdd_nnnn: str) -> bool:
    """Ten digits YYMMDDNNNN: a plausible date (day + 60 for a samordningsnummer) and Luhn."""
    month, day = int(yymmdd_nnnn[2:4]), int(yymmdd_nnnn[4:6])
    if not (1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)):
        return False
    return luhn.is_valid(yymmdd_nnnn)


def _ten_digits(match: re.Match) -> str:
    whole = match.group(0)
    digits = "".join(
        ch
        for ch in (whole.decode("latin-1") if isinstance(whole, bytes) else whole)
        if ch.isdigit()
    )
    return digits[-10:]


# The same shape for RE2 (Arrow's regex kernels, Latin-1 on binary data): a vectorised
# prefilter ~20x faster than Python's re, so only the rare lines with a candidate are masked
# in Python. It may match more than _BYTES, never less. It knows the month and the day, so that
# long voucher or invoice numbers on every line do not all become candidates.
_PREFILTER = (
    r"(?:^|[^0-9])(?:(?:19|20)[0-9]{2}|[0-9]{2})(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])"
    "(?:" + _SEPARATOR_ALTERNATIVES + r")?[0-9]{4}(?:[^0-9]|$)"
)


def _mask_match(match: re.Match) -> bytes:
    return MASK.encode() if is_identity_number(_ten_digits(match)) else match.group(0)


def mask_bytes(data: bytes) -> bytes:
    """`data` with every personal identity number replaced by `[personnummer]` (ASCII, so the
    result is valid in the same encoding). Works on whole lines: never split a line between
    two calls."""
    whole = pa.array([data], pa.large_binary())
    if not pc.any(pc.match_substring_regex(whole, _PREFILTER)).as_py():
        return data
    # Split and match in Arrow; Python touches the candidate lines only.
    lines = pc.split_pattern(whole, b"\n").flatten()
    candidates = pc.indices_nonzero(pc.match_substring_regex(lines, _PREFILTER))
    # Where each line ends in `data` (its break): the lengths and breaks before, added up.
    ends = pc.subtract(pc.cumulative_sum(pc.add(pc.binary_length(lines), 1)), 1)
    found = zip(
        pc.take(lines, candidates).to_pylist(), pc.take(ends, candidates).to_pylist(), strict=True
    )
    pieces, done = [], 0
    for line, end in found:
        pieces += [data[done : end - len(line)], _BYTES.sub(_mask_match, line)]
        done = end
    pieces.append(data[done:])
    return b"".join(pieces)


def mask_text(text: str) -> str:
    """The same rule on decoded text (file names, workbook cells)."""
    return _TEXT.sub(lambda m: MASK if is_identity_number(_ten_digits(m)) else m.group(0), text)


def find_identity_numbers(text: str) -> list[str]:
    """Every personal identity number in `text` (for tests and audits)."""
    return [m.group(0) for m in _TEXT.finditer(text) if is_identity_number(_ten_digits(m))]
