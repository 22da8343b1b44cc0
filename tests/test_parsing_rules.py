"""Encoding detection, Swedish numbers and personnummer masking: the rules, in isolation."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from ifo_pipeline.privacy import mask_bytes, mask_text
from ifo_pipeline.sample.generator import fake_personnummer
from ifo_pipeline.store.fileinfo import CHUNK, FileRejected, inspect_file
from ifo_pipeline.validation.schemas import contains_personnummer


@pytest.mark.parametrize(
    "text, amount",
    [
        ("1 234,50", "1234.50"),
        ("-16 242", "-16242"),
        ("−0,5", "-0.5"),
        ("12500", "12500"),
        ("1\u00a0234,5", "1234.5"),
        ("1\u202f000\u202f000,00", "1000000"),
        ("+3,00", "3"),
    ],
)
def test_swedish_amounts_parse_exactly(sql, text, amount):
    assert sql.execute("SELECT sv_amount(?)", [text]).fetchone()[0] == Decimal(amount)


@pytest.mark.parametrize("text", ["1.234,50", "12,345", "abc", "", "1,2,3", "12 5OO", "--1"])
def test_text_that_is_not_an_amount_is_null_not_guessed(sql, text):
    assert sql.execute("SELECT sv_amount(?)", [text]).fetchone()[0] is None


SEPARATORS = ("-", "+", "", " ", "\u00a0", "\u2013")


def test_personnummer_in_every_written_form_is_masked():
    rng = random.Random(1)
    for _ in range(50):
        pnr = fake_personnummer(rng)
        date, tail = pnr.split("-")
        for sep in SEPARATORS:
            for form in (date + sep + tail, "19" + date + sep + tail):
                text = f"avser {form}."
                assert mask_text(text) == "avser [personnummer].", form
                assert contains_personnummer(text)
                for encoding in ("utf-8", "cp1252"):
                    line = f"201901;5310;{form};x {form}y\n".encode(encoding)
                    masked = mask_bytes(line)
                    assert masked == b"201901;5310;[personnummer];x [personnummer]y\n", (
                        form,
                        encoding,
                    )


def test_a_chunk_of_many_lines_is_masked_where_its_numbers_are():
    """mask_bytes on a whole chunk (Arrow finds the lines, Python masks them in place) gives
    what masking every line on its own gives: LF and CRLF lines, numbers first, last and
    alone on a line, lines without a break at the end, every other line left byte for byte."""
    rng = random.Random(3)
    lines = []
    for i in range(3000):
        pnr = fake_personnummer(rng)
        kind = i % 5
        lines.append(
            [
                f"201901;5310;{pnr};x",
                f"{pnr};rad {i}",
                f"rad {i};{i:010d};{pnr}",
                pnr,
                f"201901;{i};ingen;0,00",
            ][kind].encode("cp1252")
            + (b"\r" if i % 7 == 0 else b"")
        )
    data = b"\n".join(lines)  # no break after the last line
    masked = mask_bytes(data)
    assert masked.split(b"\n") == [mask_bytes(line) for line in lines]
    assert masked.count(b"[personnummer]") == sum(i % 5 != 4 for i in range(3000))


def test_samordningsnummer_day_plus_60_is_masked():
    from stdnum import luhn

    stem = "920289046"  # 29 February 1992 + 60
    number = stem + luhn.calc_check_digit(stem)
    assert mask_text(f"sam {number[:6]}-{number[6:]}") == "sam [personnummer]"
    assert mask_bytes(number.encode()) == b"[personnummer]"


def test_numbers_that_fail_the_check_digit_or_the_date_are_left_alone():
    pnr = fake_personnummer(random.Random(2))
    wrong = pnr[:-1] + str((int(pnr[-1]) + 1) % 10)
    assert mask_text(wrong) == wrong and mask_bytes(wrong.encode()) == wrong.encode()
    assert not contains_personnummer(wrong)
    assert mask_text("faktura 12345") == "faktura 12345"
    # Month 13 with a valid check digit is not a date: a voucher id, left alone.
    from stdnum import luhn

    voucher = "921329123" + luhn.calc_check_digit("921329123")
    assert mask_text(voucher) == voucher
    # Eleven digits are not a personnummer, whatever their check digit.
    assert mask_text("1" + pnr.replace("-", "")) == "1" + pnr.replace("-", "")


def _file(tmp_path, data: bytes):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    return path


def test_encodings_are_detected(tmp_path):
    text = "Period;Text\n201901;Försörjningsstöd\n"
    assert inspect_file(_file(tmp_path, text.encode("utf-8"))).encoding == "utf-8"
    assert inspect_file(_file(tmp_path, b"\xef\xbb\xbf" + text.encode())).encoding == "utf-8-sig"
    info = inspect_file(_file(tmp_path, text.encode("cp1252")))
    assert info.encoding == "cp1252" and info.line_count == 2 and len(info.sha256) == 64


@pytest.mark.parametrize(
    "data, reason, line",
    [
        (b"", "empty", None),
        ("a\nb\n\ufffd\n".encode(), "U+FFFD", 3),
        ("a\nö\n".encode() + "ö\n".encode("cp1252"), "mixes encodings", 3),
        (b"a\n\x81\n", "neither UTF-8 nor Windows-1252", 2),
    ],
)
def test_undecodable_files_are_rejected_naming_the_line(tmp_path, data, reason, line):
    with pytest.raises(FileRejected) as exc:
        inspect_file(_file(tmp_path, data))
    assert reason in exc.value.reason
    assert exc.value.line == line
    assert exc.value.sha256 is not None


# Two megabytes of ASCII lines: what tells the encodings apart lies in another read chunk.
FILLER = b"x;y\n" * (2 * CHUNK // 4)
FILLER_LINES = FILLER.count(b"\n")


@pytest.mark.parametrize(
    "data, reason, line",
    [
        # UTF-8 first, a Windows-1252 byte megabytes later: mixed, at the later line
        ("a\nö\n".encode() + FILLER + "ö\n".encode("cp1252"), "mixes encodings", 3 + FILLER_LINES),
        # valid UTF-8 (ā is c4 81) whose byte 0x81 Windows-1252 leaves undefined, found when
        # the file turns out not to be UTF-8 a chunk later: the earlier bytes are looked at too
        ("a\nā\n".encode() + FILLER + "ö\n".encode("cp1252"), "neither UTF-8", 2),
        # Windows-1252 first, UTF-8 after the first chunk
        ("a\nö\n".encode("cp1252") + FILLER + "ö\n".encode(), "mixes encodings", 2),
    ],
)
def test_encodings_are_told_apart_across_read_chunks(tmp_path, data, reason, line):
    with pytest.raises(FileRejected) as exc:
        inspect_file(_file(tmp_path, data))
    assert reason in exc.value.reason
    assert exc.value.line == line


def test_a_long_windows_1252_file_is_accepted(tmp_path):
    data = FILLER + "Försörjningsstöd\n".encode("cp1252") + FILLER
    assert inspect_file(_file(tmp_path, data)).encoding == "cp1252"


def test_the_decimals_of_a_number_are_not_a_personnummer():
    from stdnum import luhn

    digits = "001030232" + luhn.calc_check_digit("001030232")  # 2000-10-30, valid check digit
    assert mask_text(f"avser {digits}") == "avser [personnummer]"
    assert mask_text(f'"elapsed": 0.{digits},') == f'"elapsed": 0.{digits},'
    assert mask_bytes(f"1,{digits};".encode()) == f"1,{digits};".encode()
    assert mask_text(f"nr.{digits}.") == "nr.[personnummer]."
