"""File identity and encoding: one streaming pass over the bytes, no whole file in memory.

The contract (docs/inputs.md, general rules): accept UTF-8 with or without BOM and Windows-1252,
detect which, never guess silently, and reject a file that cannot be decoded cleanly or mixes
the two, naming the line. A file that begins with a UTF-16 or UTF-32 byte order mark (Excel's
"Unicode text") is known by it, never taken for Windows-1252, and read as what it says.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ifo_pipeline.files import write_text_atomically

CHUNK = 1 << 20
UTF8_BOM = codecs.BOM_UTF8
# Bytes that Windows-1252 leaves undefined: a file holding them is not cp1252 either.
CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
# A well-formed UTF-8 multi-byte sequence for a Latin letter (å, ä, ö, é ...): seeing one in a
# file that is otherwise not UTF-8 means two encodings were mixed.
UTF8_LATIN = re.compile(rb"[\xc2-\xc3][\x80-\xbf]")
# Byte order marks of the wide encodings, UTF-32's first (FF FE 00 00 begins with UTF-16 LE's
# FF FE), each with the Python codec that reads it (it takes the BOM off and knows the order).
WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class FileRejected(Exception):
    """A file-level problem: the whole file is refused, with a reason naming file and line."""

    def __init__(self, reason: str, line: int | None = None):
        self.reason = reason
        self.line = line
        self.sha256: str | None = None  # set when the bytes could be hashed
        self.size_bytes: int | None = None
        super().__init__(f"line {line}: {reason}" if line else reason)


@dataclass(frozen=True)
class FileInfo:
    path: Path
    sha256: str
    size_bytes: int
    encoding: str  # "utf-8", "utf-8-sig", "cp1252", "utf-16" or "utf-32": a Python codec name
    line_count: int


def wide_encoding(head: bytes) -> str | None:
    """ "utf-16" or "utf-32" for bytes that begin with its byte order mark, else None."""
    return next((codec for bom, codec in WIDE_BOMS if head.startswith(bom)), None)


def _line_of(path: Path, offset: int) -> int:
    """1-based line number of a byte offset (only called on the failure path)."""
    count, seen = 1, 0
    with path.open("rb") as fh:
        while seen < offset:
            chunk = fh.read(min(CHUNK, offset - seen))
            if not chunk:
                break
            count += chunk.count(b"\n")
            seen += len(chunk)
    return count


def sniff_encoding(path: Path) -> str:
    """The encoding as the file's first megabyte tells it, for a quick look (the months a file
    holds). The load decides with `inspect_file`, which reads every byte."""
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    if wide := wide_encoding(head):
        return wide
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def inspect_file(
    path: Path, text: bool = True, sink: Callable[[bytes], None] | None = None
) -> FileInfo:
    """Hash, size and encoding of `path`; raises FileRejected for undecodable or empty files,
    and for anything that is not a readable regular file (a directory, a dangling link).

    `text=False` (a workbook, a binary format): hash and size only, encoding "binary".
    `sink`: given every chunk as it is read (the archive's copy is made in the same read).
    """
    if not path.is_file():
        what = (
            "a directory"
            if path.is_dir()
            else "a link to a missing file"
            if (path.is_symlink())
            else "not a regular file"
        )
        exc = FileRejected(f"{what}, not a file with data")
        exc.sha256, exc.size_bytes = not_a_file_identity(path), 0
        raise exc
    digest = hashlib.sha256()
    size = newlines = 0
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_error_at: int | None = None
    legacy = _LegacyEvidence()
    replacement_at: int | None = None
    head = last = b""  # the first four bytes (a BOM?) and the last one (a final line break?)
    wide: _WideText | None = None  # a UTF-16 or UTF-32 file, decoded as such
    try:
        fh = path.open("rb")
    except OSError as os_error:
        exc = FileRejected(f"the file cannot be opened ({os_error.strerror})")
        exc.sha256, exc.size_bytes = not_a_file_identity(path), 0
        raise exc from None
    with fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if sink is not None:
                sink(chunk)
            if not head and text and (codec := wide_encoding(chunk[:4])):
                wide = _WideText(codec)
            head, last = head or chunk[:4], chunk[-1:]
            if not text:  # the identity only: no decoding
                size += len(chunk)
                continue
            if wide is not None:
                wide.decode(chunk, size)
                size += len(chunk)
                continue
            newlines += chunk.count(b"\n")
            if utf8_error_at is None:
                try:
                    decoded = utf8.decode(chunk)
                    if replacement_at is None and "\ufffd" in decoded:
                        replacement_at = size + chunk.find(b"\xef\xbf\xbd")
                except UnicodeDecodeError as exc:
                    utf8_error_at = size + exc.start
                    legacy.scan_file(path, size)
            if utf8_error_at is not None:
                legacy.scan(chunk, size)
            size += len(chunk)
    if wide is not None:
        return wide.file_info(path, digest.hexdigest(), size)
    if utf8_error_at is None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error_at = size - 1
            legacy.scan_file(path, size)
    if not text:
        if size == 0:
            exc = FileRejected("the file is empty")
            exc.sha256, exc.size_bytes = not_a_file_identity(path), size
            raise exc
        return FileInfo(path, digest.hexdigest(), size, "binary", 0)
    try:
        encoding = _encoding(path, head, size, utf8_error_at, replacement_at, legacy)
    except FileRejected as exc:
        # Every empty file has the same bytes: named by its name, each is refused in its own
        # right instead of passing for a copy of another.
        empty = size == 0 or (size <= 3 and head.startswith(UTF8_BOM))
        exc.sha256 = not_a_file_identity(path) if empty else digest.hexdigest()
        exc.size_bytes = size
        raise
    line_count = newlines + (0 if last == b"\n" else 1)
    return FileInfo(path, digest.hexdigest(), size, encoding, line_count)


class _WideText:
    """A UTF-16 or UTF-32 file (known by its BOM), decoded as it is read: its lines counted in
    characters, not bytes (a 0A byte is half of many a character), and refused where it does
    not decode or holds U+FFFD."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self._decoder = codecs.getincrementaldecoder(codec)("strict")
        self._newlines = 0
        self._chars = 0
        self._last = ""
        self._error: tuple[str, int | None] | None = None  # (reason, byte offset)

    def decode(self, chunk: bytes, offset: int) -> None:
        if self._error is not None:
            return
        try:
            decoded = self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            self._error = (f"this byte is not {self.codec.upper()}", offset + exc.start)
            return
        if "\ufffd" in decoded:
            self._error = (
                "the file contains U+FFFD replacement characters: it was already mis-decoded "
                "once before it was exported",
                offset,
            )
            return
        self._newlines += decoded.count("\n")
        self._chars += len(decoded)
        self._last = decoded[-1:] or self._last

    def file_info(self, path: Path, sha256: str, size: int) -> FileInfo:
        if self._error is None:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._error = (f"the file ends inside a {self.codec.upper()} character", size)
        if self._error is None and self._chars == 0:
            self._error = ("the file is empty", None)
        if self._error is not None:
            reason, at = self._error
            exc = FileRejected(
                f"{reason} (the file is {self.codec.upper()}, known by its byte order mark)",
                None if at is None else self._line_at(path, at),
            )
            # Every empty file has the same bytes: each is refused in its own right (see below).
            exc.sha256 = not_a_file_identity(path) if at is None else sha256
            exc.size_bytes = size
            raise exc
        line_count = self._newlines + (0 if self._last == "\n" else 1)
        return FileInfo(path, sha256, size, self.codec, line_count)

    def _line_at(self, path: Path, offset: int) -> int:
        """The line of a byte offset, or of the first U+FFFD in or after the chunk it begins
        (failure path only: the file is read again up to there)."""
        with path.open("rb") as fh:
            text = fh.read(offset + CHUNK).decode(self.codec, errors="replace")
        before = text.find("\ufffd")
        return text.count("\n", 0, before if before >= 0 else len(text)) + 1


class _LegacyEvidence:
    """What tells a file that is not UTF-8 apart: Windows-1252, two encodings mixed, or
    neither. Only looked for once the UTF-8 decoding failed: a valid UTF-8 file (nearly every
    file) never pays for the two byte searches, which cost more than the hash."""

    def __init__(self) -> None:
        self.saw_utf8_sequence = False
        self.cp1252_error_at: int | None = None

    def scan(self, chunk: bytes, offset: int) -> None:
        # Byte searches (memchr) before the regular expression, which is ten times slower.
        if chunk.isascii():  # both need a byte above 0x7f
            return
        if (
            not self.saw_utf8_sequence
            and (b"\xc2" in chunk or b"\xc3" in chunk)
            and UTF8_LATIN.search(chunk)
        ):
            self.saw_utf8_sequence = True
        if self.cp1252_error_at is None:
            found = [i for byte in CP1252_UNDEFINED if (i := chunk.find(byte)) >= 0]
            if found:
                self.cp1252_error_at = offset + min(found)

    def scan_file(self, path: Path, end: int) -> None:
        """The bytes before `end`, read again (a Windows-1252 file fails in its first
        megabyte: this reads little, and only for files that are not UTF-8)."""
        with path.open("rb") as fh:
            offset = 0
            while offset < end and (chunk := fh.read(min(CHUNK, end - offset))):
                self.scan(chunk, offset)
                offset += len(chunk)


def _encoding(
    path: Path,
    head: bytes,
    size: int,
    utf8_error_at: int | None,
    replacement_at: int | None,
    legacy: _LegacyEvidence,
) -> str:
    if size == 0 or (size <= 3 and head.startswith(UTF8_BOM)):
        raise FileRejected("the file is empty")
    if utf8_error_at is None:
        if replacement_at is not None:
            raise FileRejected(
                "the file contains U+FFFD replacement characters: it was already mis-decoded "
                "once before it was exported",
                _line_of(path, replacement_at),
            )
        return "utf-8-sig" if head.startswith(UTF8_BOM) else "utf-8"
    elif legacy.saw_utf8_sequence:
        raise FileRejected(
            "the file mixes encodings: it has UTF-8 characters, but this byte is not UTF-8",
            _line_of(path, utf8_error_at),
        )
    elif legacy.cp1252_error_at is not None:
        raise FileRejected(
            "the file is neither UTF-8 nor Windows-1252 (undecodable byte)",
            _line_of(path, legacy.cp1252_error_at),
        )
    return "cp1252"


def not_a_file_identity(path: Path) -> str:
    """An identity for a landed name that has no bytes to hash (a directory, a dangling link,
    an unreadable file, an empty one): it is refused once, not again every night."""
    return hashlib.sha256(
        f"not a readable file: {path.parent.name}/{path.name}".encode()
    ).hexdigest()


# The SHA-256s of files hashed, by what identifies their bytes on disk (`_stat_key`); kept
# across processes in a file (`identities_kept_in`), so that a night does not hash the whole
# landed history again to find the one new file.
_IDENTITIES: dict[str, str] = {}
# The entries that may be kept: read from the file, or hashed once their file had settled.
_SETTLED: set[str] = set()
# The keys looked up within each open `identities_kept_in`.
_SCOPES: list[set[str]] = []
# A file changed this recently can change again without its times showing it (a filesystem's
# clock ticks, a network share's whole seconds): its hash serves this process only.
SETTLE_SECONDS = 2.0
FORGET_DAYS = 30


def written_state(path: Path) -> tuple[int, int, int, int, int] | None:
    """What changes when the file is written to or replaced: its device and inode, size, and
    modification and change times (ns). The change time moves with every write and no tool
    can set it back. None: the file cannot be looked at."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def _stat_key(path: Path) -> tuple[str, int] | None:
    """The key of the file's bytes as they are now (`written_state`), and when they last
    changed (ns). The name is in the key only hashed (a kept file must not hold the landed
    names, which can hold a person's)."""
    state = written_state(path)
    if state is None:
        return None
    key = hashlib.sha256(repr((path, *state)).encode()).hexdigest()
    for scope in _SCOPES:
        scope.add(key)
    return key, max(state[3], state[4])


def known_identity(path: Path) -> str | None:
    """The SHA-256 `file_identity` found for `path` before, if the file's inode, size and
    times are still the same (a file replaced meanwhile has another inode or time): a night
    hashes each landed file once, not once per question, and not again the next night."""
    found = _stat_key(path)
    return _IDENTITIES.get(found[0]) if found else None


def file_identity(path: Path) -> str:
    """The SHA-256 a load would log the file under; never raises (an empty or unreadable file
    has one too, so that it is refused once, not found new every night)."""
    found = _stat_key(path)
    if found is not None and found[0] in _IDENTITIES:
        return _IDENTITIES[found[0]]
    try:
        identity = inspect_file(path, text=False).sha256
    except FileRejected as exc:
        return exc.sha256 or not_a_file_identity(path)
    if found is not None:
        key, changed_ns = found
        _IDENTITIES[key] = identity
        if time.time_ns() - changed_ns > SETTLE_SECONDS * 1e9:
            _SETTLED.add(key)
    return identity


@contextmanager
def identities_kept_in(state_file: Path) -> Iterator[None]:
    """Within: `file_identity` also knows the SHA-256s kept in `state_file` by earlier
    processes. Afterwards the file also keeps those of the settled files looked up within; an
    entry not looked up for `FORGET_DAYS` is dropped (its file is no longer landed). An
    unreadable or unwritable file costs hashing again, nothing else."""
    kept = _read_kept(state_file)
    for key, (identity, _) in kept.items():
        _IDENTITIES[key] = identity
        _SETTLED.add(key)
    scope: set[str] = set()
    _SCOPES.append(scope)
    try:
        yield
    finally:
        _SCOPES.remove(scope)
    today = int(time.time() // 86400)
    keep = {k: v for k, v in kept.items() if today - v[1] <= FORGET_DAYS}
    keep |= {k: (_IDENTITIES[k], today) for k in scope & _SETTLED if k in _IDENTITIES}
    if keep != kept:
        with suppress(OSError):
            write_text_atomically(
                state_file, json.dumps({k: list(v) for k, v in sorted(keep.items())})
            )


def _read_kept(state_file: Path) -> dict[str, tuple[str, int]]:
    """{key: (SHA-256, the day it was last looked up)}; empty if unreadable."""
    try:
        entries = json.loads(state_file.read_text())
        return {
            key: (identity, int(day))
            for key, (identity, day) in entries.items()
            if isinstance(key, str) and isinstance(identity, str)
        }
    except (OSError, ValueError, TypeError, AttributeError):
        return {}
