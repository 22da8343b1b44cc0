"""Encoding detection, Swedish numbers and personnummer masking: the rules, in isolation."""

from __future__ import annotations

import random
from decimal import Decimal

import duckdb
import pytest

from ifo_pipeline.ingest.fileinfo import FileRejected, inspect_file
from ifo_pipeline.ingest.warehouse import MACROS
from ifo_pipeline.sample.generator import fake_personnummer
from ifo_pipeline.validation.schemas import contains_personnummer


@pytest.fixture(scope="module")
def sql():
    con = duckdb.connect()
    con.execute(MACROS)
    yield con
    con.close()


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


def test_personnummer_with_valid_check_digit_is_masked(sql):
    rng = random.Random(1)
    for _ in range(50):
        pnr = fake_personnummer(rng)
        for form in (pnr, pnr.replace("-", ""), "19" + pnr.replace("-", ""), "20" + pnr):
            masked = sql.execute("SELECT mask_personnummer(?)", [f"avser {form}."]).fetchone()[0]
            assert masked == "avser [personnummer].", form
            assert contains_personnummer(f"avser {form}.")


def test_numbers_that_fail_the_check_digit_are_left_alone(sql):
    pnr = fake_personnummer(random.Random(2))
    wrong = pnr[:-1] + str((int(pnr[-1]) + 1) % 10)
    assert sql.execute("SELECT mask_personnummer(?)", [wrong]).fetchone()[0] == wrong
    assert not contains_personnummer(wrong)
    assert sql.execute("SELECT mask_personnummer('faktura 12345')").fetchone()[0] == "faktura 12345"


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
