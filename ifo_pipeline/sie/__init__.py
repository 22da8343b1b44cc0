"""SIE 4 (the Swedish accounting file standard, type 4: transactions) read as ledger lines.

Plain Python, no DuckDB or Dagster: the loader (ingest/sie_loader.py) turns what this reads
into the ledger's rows. What it reads (docs/inputs.md §7):

- the encoding: IBM code page 437 under `#FORMAT PC8` (the standard), and the Windows-1252 or
  UTF-8 some systems write under the same header, told apart by their bytes (`detect_encoding`);
- a line: `#LABEL` and fields separated by spaces or tabs; a quoted field may hold spaces and
  `\\"` (a quote); an object list `{dim "obj" …}` (`tokenize`, `quote`);
- the file: `#SIETYP`, `#RAR 0` (the financial year), `#KONTO`, `#DIM`, `#UNDERDIM`, `#OBJEKT`
  names, and every `#TRANS` inside a `#VER { … }` block with its voucher (`SieReader`).
  `#RTRANS` and `#BTRANS` are never read as lines (the standard follows an `#RTRANS` by the same
  `#TRANS`); balances (`#IB`, `#UB`, `#RES`, `#PSALDO`, `#PBUDGET`) and unknown labels are
  passed over, as the standard says.

A line that cannot be read is kept with the reason (`Entry.problem`), never dropped: an
unclosed quote, an amount that is not a SIE amount, a `#TRANS` outside a voucher, a voucher
without a date, the lines of a voucher the file ends inside.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

Field = str | tuple[str, ...]  # a text field, or an object list's fields

# One field: quoted (a `\"` inside is a quote; any other backslash is itself), an object list's
# braces, or a plain run of characters.
_TOKEN = re.compile(r'[ \t]*(?:"((?:[^"\\]|\\"|\\(?!"))*)"|(\{)|(\})|([^ \t"{}]+))')
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# The common `#TRANS` in one match (account, object list, amount, date, text): most lines of a
# large file are read by it; anything else (a quantity after the text, a field it does not
# expect) by `tokenize`, which is the grammar. tests/test_sie.py holds them to one reading.
_QUOTED = r'"(?:[^"\\]|\\"|\\(?!"))*"'
_FIELD_IN_LIST = re.compile(r'"((?:[^"\\]|\\"|\\(?!"))*)"|([^ \t"{}]+)')
_TRANS = re.compile(
    r'[ \t]*#TRANS[ \t]+([^ \t"{}]+)[ \t]+\{((?:[^{}"]|' + _QUOTED + r")*)\}"
    r"[ \t]+(-?[0-9]+(?:\.[0-9]+)?)"
    r'(?:[ \t]+(?:[0-9]{8}|"")(?:[ \t]+(' + _QUOTED + r"))?)?[ \t]*"
)
_DATE = re.compile(r"((?:19|20)[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])")

# The Swedish letters as bytes: where each encoding puts å ä ö Å Ä Ö é ü.
_CP437_LETTERS = b"\x86\x84\x94\x8f\x8e\x99\x82\x81"
_CP1252_LETTERS = b"\xe5\xe4\xf6\xc5\xc4\xd6\xe9\xfc"


class SieSyntaxError(ValueError):
    """A line that does not follow the SIE grammar; the message says where (`column`, from 1)."""

    def __init__(self, reason: str, column: int) -> None:
        super().__init__(f"{reason} at column {column}")
        self.column = column


def detect_encoding(data: bytes) -> str:
    """The Python codec a SIE file's bytes are in. Valid UTF-8 with non-ASCII bytes is UTF-8
    (with its BOM, "utf-8-sig"); otherwise CP437 (`#FORMAT PC8`, the standard, and a file
    without `#FORMAT`), unless the bytes are the Swedish letters of Windows-1252 and not those
    of CP437 (where Windows-1252's would be box-drawing characters)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if not data.isascii():
        try:
            data.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
    cp437 = sum(data.count(bytes([b])) for b in _CP437_LETTERS)
    cp1252 = sum(data.count(bytes([b])) for b in _CP1252_LETTERS)
    return "cp1252" if cp1252 > cp437 else "cp437"


def tokenize(line: str) -> list[Field]:
    """The fields of one line: texts unquoted, an object list as a tuple of its fields.
    Raises SieSyntaxError for an unclosed quote, an unbalanced brace or a nested list."""
    fields: list[Field] = []
    inner: list[str] | None = None
    position, end = 0, len(line.rstrip("\r\n"))
    while position < end:
        match = _TOKEN.match(line, position)
        if match is None or match.end() == position:
            rest = line[position:end].strip()
            if not rest:
                break
            what = "an unclosed quote" if rest.startswith('"') else f"unreadable text {rest!r}"
            raise SieSyntaxError(what, position + 1)
        position = match.end()
        quoted, opening, closing, plain = match.groups()
        if opening:
            if inner is not None:
                raise SieSyntaxError("an object list inside another", position)
            inner = []
        elif closing:
            if inner is None:
                raise SieSyntaxError("a closing brace without its opening", position)
            fields.append(tuple(inner))
            inner = None
        else:
            text = quoted.replace('\\"', '"') if quoted is not None else plain
            (inner if inner is not None else fields).append(text)
    if inner is not None:
        raise SieSyntaxError("an object list is not closed", end + 1)
    return fields


def quote(text: str) -> str:
    """A text as one SIE field: `tokenize` reads it back as `text`. (A text ending in a
    backslash cannot be written: the standard reads `\\"` as a quote.)"""
    return '"' + text.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Voucher:
    line: int
    series: str
    number: str
    date: str | None  # YYYYMMDD
    text: str


@dataclass(frozen=True)
class Entry:
    """One `#TRANS` line: a ledger line, or (`problem`) a reject with its reason."""

    line: int
    raw: str
    voucher: Voucher | None
    account: str | None = None
    objects: tuple[tuple[str, str], ...] = ()
    amount: Decimal | None = None  # None: no readable amount
    text: str | None = None
    problem: str | None = None

    @property
    def period(self) -> int | None:
        """YYYYMM of the voucher's date."""
        date = self.voucher.date if self.voucher else None
        return int(date[:6]) if date else None


@dataclass
class SieReader:
    """Reads a SIE file's decoded lines once: `entries(lines)` yields each `#TRANS` as it is
    read (a voucher's when its block closes); the file's header and names are in the
    attributes, complete once the lines are read."""

    sie_type: str | None = None
    financial_year: tuple[str, str] | None = None  # `#RAR 0`: (start, end) YYYYMMDD
    accounts: dict[str, str] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)
    objects: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # other lines unread
    fast: bool = True  # False: every line through `tokenize` (the tests compare the two)

    def entries(self, lines: Iterable[str], first_line: int = 1) -> Iterator[Entry]:
        voucher: Voucher | None = None
        open_block: list[Entry] | None = None  # the lines of the voucher being read
        pending: Voucher | None = None  # a #VER whose block has not opened yet
        number = first_line - 1
        for number, line in enumerate(lines, start=first_line):
            stripped = line.strip()
            if not stripped:
                continue
            if stripped == "{":
                if pending is None:
                    self.problems.append((number, line, "a block without its #VER"))
                    continue
                voucher, pending, open_block = pending, None, []
                continue
            if stripped == "}":
                if open_block is not None:
                    yield from open_block
                voucher, open_block = None, None
                continue
            label = stripped.split(None, 1)[0].upper()
            if label == "#TRANS":
                entry = self._entry(number, line, voucher if open_block is not None else None)
                if open_block is not None:
                    open_block.append(entry)
                else:
                    yield entry
                continue
            if label in ("#RTRANS", "#BTRANS"):
                continue  # added or removed lines of a corrected voucher: not lines again
            if open_block is not None:  # another record ends the block the file forgot
                yield from self._unfinished(open_block)
                voucher, open_block = None, None
            try:
                fields = tokenize(line)
            except SieSyntaxError as exc:
                self.problems.append((number, line, str(exc)))
                continue
            pending = self._header(label, fields, number) if label == "#VER" else pending
            if label != "#VER":
                self._record(label, fields)
        if open_block is not None:
            yield from self._unfinished(open_block)

    @staticmethod
    def _unfinished(block: list[Entry]) -> Iterator[Entry]:
        for entry in block:
            yield Entry(
                entry.line,
                entry.raw,
                entry.voucher,
                entry.account,
                entry.objects,
                entry.amount,
                entry.text,
                "ofullständig verifikation: the file ends inside its #VER block",
            )

    def _header(self, label: str, fields: list[Field], line: int) -> Voucher:
        texts = [f if isinstance(f, str) else "" for f in fields[1:]]
        texts += [""] * (4 - len(texts))
        series, number, date, text = texts[:4]
        return Voucher(line, series, number, date if _DATE.fullmatch(date) else None, text)

    def _record(self, label: str, fields: list[Field]) -> None:
        texts = [f for f in fields[1:] if isinstance(f, str)]
        if label == "#SIETYP" and texts:
            self.sie_type = texts[0]
        elif label == "#RAR" and len(texts) >= 3 and texts[0] == "0":
            self.financial_year = (texts[1], texts[2])
        elif label == "#KONTO" and len(texts) >= 2:
            self.accounts[texts[0]] = texts[1]
        elif label in ("#DIM", "#UNDERDIM") and len(texts) >= 2:
            self.dimensions[texts[0]] = texts[1]
        elif label == "#OBJEKT" and len(texts) >= 3:
            self.objects[(texts[0], texts[1])] = texts[2]

    def _entry(self, number: int, line: str, voucher: Voucher | None) -> Entry:
        fast = _TRANS.fullmatch(line.rstrip("\r\n")) if self.fast else None
        if fast is not None and voucher is not None and voucher.date is not None:
            account, inner, amount_text, quoted = fast.groups()
            objects = tuple(
                m.group(2) if m.group(1) is None else m.group(1).replace('\\"', '"')
                for m in _FIELD_IN_LIST.finditer(inner)
            )
            if len(objects) % 2 == 0:
                pairs = tuple(zip(objects[::2], objects[1::2], strict=True))
                text = quoted[1:-1].replace('\\"', '"') if quoted else ""
                return Entry(
                    number, line, voucher, account, pairs, Decimal(amount_text),
                    text or voucher.text or None,
                )  # fmt: skip
        unreadable = None
        try:
            fields = tokenize(line)
        except SieSyntaxError as exc:
            # The fields before the fault still say the account and amount: the reject
            # carries them, so that the file's krona are accounted for.
            unreadable = f"the line cannot be read: {exc}"
            try:
                fields = tokenize(line[: exc.column - 1])
            except SieSyntaxError:
                fields = []
        rest = fields[1:]
        objects: tuple[str, ...] = ()
        if len(rest) > 1 and isinstance(rest[1], tuple):
            objects = rest[1]
            rest = [rest[0], *rest[2:]]
        texts = [f if isinstance(f, str) else "" for f in rest]
        account = texts[0] if texts else None
        amount_text = texts[1] if len(texts) > 1 else ""
        text = texts[3] if len(texts) > 3 and texts[3] else (voucher.text if voucher else None)
        amount = Decimal(amount_text) if _AMOUNT.fullmatch(amount_text) else None
        pairs = tuple(zip(objects[::2], objects[1::2], strict=False))
        entry = Entry(number, line, voucher, account, pairs, amount, text or None)
        problem = unreadable
        if problem is None and len(objects) % 2:
            problem = (
                f"the object list {{{' '.join(objects)}}} is not pairs of dimension and object"
            )
        elif problem is None and amount is None:
            problem = f"the amount {amount_text!r} is not a SIE amount (digits, a decimal point)"
        elif problem is None and voucher is None:
            problem = "a #TRANS outside a #VER block"
        elif problem is None and voucher.date is None:
            problem = f"the voucher on line {voucher.line} has no date YYYYMMDD"
        if problem:
            return Entry(number, line, voucher, account, pairs, amount, text or None, problem)
        return entry
