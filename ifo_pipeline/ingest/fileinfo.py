"""File identity and encoding: one streaming pass over the bytes, no whole file in memory.

The contract (INPUTS.md, general rules): accept UTF-8 with or without BOM and Windows-1252,
detect which, never guess silently, and reject a file that cannot be decoded cleanly or mixes
the two, naming the line.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
UTF8_BOM = codecs.BOM_UTF8
# Bytes that Windows-1252 leaves undefined: a file holding them is not cp1252 either.
CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
# A well-formed UTF-8 multi-byte sequence for a Latin letter (å, ä, ö, é ...): seeing one in a
# file that is otherwise not UTF-8 means two encodings were mixed.
UTF8_LATIN = re.compile(rb"[\xc2-\xc3][\x80-\xbf]")


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
    encoding: str  # "utf-8", "utf-8-sig" or "cp1252": a Python codec name
    line_count: int


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
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def inspect_file(path: Path, text: bool = True) -> FileInfo:
    """Hash, size and encoding of `path`; raises FileRejected for undecodable or empty files,
    and for anything that is not a readable regular file (a directory, a dangling link).

    `text=False` (a workbook, a binary format): hash and size only, encoding "binary".
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
    try:
        fh = path.open("rb")
    except OSError as os_error:
        exc = FileRejected(f"the file cannot be opened ({os_error.strerror})")
        exc.sha256, exc.size_bytes = not_a_file_identity(path), 0
        raise exc from None
    with fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if not text:  # the identity only: no decoding
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
        encoding = _encoding(path, size, utf8_error_at, replacement_at, legacy)
    except FileRejected as exc:
        # Every empty file has the same bytes: named by its name, each is refused in its own
        # right instead of passing for a copy of another.
        empty = size == 0 or (size <= 3 and _starts_with_bom(path))
        exc.sha256 = not_a_file_identity(path) if empty else digest.hexdigest()
        exc.size_bytes = size
        raise
    line_count = newlines + (0 if _ends_with_newline(path) else 1)
    return FileInfo(path, digest.hexdigest(), size, encoding, line_count)


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
    size: int,
    utf8_error_at: int | None,
    replacement_at: int | None,
    legacy: _LegacyEvidence,
) -> str:
    if size == 0 or (size <= 3 and _starts_with_bom(path)):
        raise FileRejected("the file is empty")
    if utf8_error_at is None:
        if replacement_at is not None:
            raise FileRejected(
                "the file contains U+FFFD replacement characters: it was already mis-decoded "
                "once before it was exported",
                _line_of(path, replacement_at),
            )
        return "utf-8-sig" if _starts_with_bom(path) else "utf-8"
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


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(3) == UTF8_BOM


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return True
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def not_a_file_identity(path: Path) -> str:
    """An identity for a landed name that has no bytes to hash (a directory, a dangling link,
    an unreadable file, an empty one): it is refused once, not again every night."""
    return hashlib.sha256(
        f"not a readable file: {path.parent.name}/{path.name}".encode()
    ).hexdigest()


# The SHA-256s of files hashed in this process, by what identifies their bytes on disk.
_IDENTITIES: dict[tuple, str] = {}


def _stat_key(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def known_identity(path: Path) -> str | None:
    """The SHA-256 `file_identity` found for `path` earlier in this process, if the file's
    inode, size and modification time are still the same (a file replaced meanwhile has
    another inode or time): a night hashes each landed file once, not once per question."""
    key = _stat_key(path)
    return _IDENTITIES.get(key) if key else None


def file_identity(path: Path) -> str:
    """The SHA-256 a load would log the file under; never raises (an empty or unreadable file
    has one too, so that it is refused once, not found new every night)."""
    key = _stat_key(path)
    if key is not None and key in _IDENTITIES:
        return _IDENTITIES[key]
    try:
        identity = inspect_file(path, text=False).sha256
    except FileRejected as exc:
        return exc.sha256 or not_a_file_identity(path)
    if key is not None:
        _IDENTITIES[key] = identity
    return identity
