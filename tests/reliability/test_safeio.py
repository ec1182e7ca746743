"""The shared safety helpers: atomic writes, lossless names, safe names, CSV cells, locks."""

import csv
import os

import pytest

from tfdeepfake.safeio import (
    FolderBusyError,
    atomic_write,
    csv_cell,
    csv_unescape,
    display_name,
    folder_lock,
    parse_display_name,
    safe_name,
    write_text_atomic,
)

HOSTILE = [
    b"caf\xe9.mp4".decode("utf-8", "surrogateescape"),  # Latin-1 name on a UTF-8 system
    "back\\slash\\x41.mp4",
    "plain.mp4",
    "日本語.mp4",
    "two\nlines.mp4",  # a newline would split a one-name-per-line list
    "\x1b[31mred\x7f.mp4",  # a terminal escape sequence
]


@pytest.mark.parametrize("name", HOSTILE)
def test_display_name_is_utf8_and_lossless(name):
    shown = display_name(name)
    shown.encode("utf-8")  # valid UTF-8: raises on a lone surrogate
    assert shown.isprintable()  # one line, nothing a terminal would act on
    assert parse_display_name(shown) == name


def test_display_name_keeps_ordinary_names():
    assert display_name("dir/日本語 clip.mp4") == "dir/日本語 clip.mp4"
    assert display_name(b"caf\xe9".decode("utf-8", "surrogateescape")) == "caf\\xe9"


@pytest.mark.parametrize("text", ["../../x", "/etc/passwd", "..", "-rf", "", "a/b\\c", *HOSTILE])
def test_safe_name_stays_in_its_folder(tmp_path, text):
    name = safe_name(text)
    assert name and "/" not in name and "\\" not in name and name not in (".", "..")
    assert not name.startswith((".", "-"))
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_safe_name_keeps_distinct_inputs_distinct():
    assert safe_name("a/b") != safe_name("a_b")
    assert safe_name("clip_01") == "clip_01"


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_cell_defuses_formulas(cell):
    assert csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-0.25", "+3", "1e-5", "-inf", "clip.mp4", 7, None])
def test_csv_cell_keeps_numbers_and_text(cell):
    assert csv_cell(cell) == cell


@pytest.mark.parametrize("value", ["=1+1", "'=1+1", "''x", "'-5", "-5", "'", "it's", "@x"])
def test_csv_unescape_gives_every_value_back(value):
    assert csv_unescape(csv_cell(value)) == value


def test_atomic_write_leaves_the_old_file_on_error(tmp_path):
    target = tmp_path / "summary.json"
    write_text_atomic(target, "old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["summary.json"]  # no temporary left behind


def test_atomic_write_csv_round_trip(tmp_path):
    target = tmp_path / "x.csv"
    with atomic_write(target, newline="") as handle:
        csv.writer(handle).writerow([csv_cell(HOSTILE[0]), csv_cell("=1")])
    assert target.read_bytes().decode("utf-8") == "caf\\xe9.mp4,'=1\r\n"


def test_folder_lock_is_exclusive_and_says_so(tmp_path):
    with folder_lock(tmp_path):
        with pytest.raises(FolderBusyError, match="in use by another extraction"):
            with folder_lock(tmp_path, "extraction"):
                pass
    with folder_lock(tmp_path):  # released: free again
        pass


def test_evaluation_csvs_defuse_formulas_but_keep_negative_numbers(tmp_path):
    from tfdeepfake.evaluation.report import _write_csv

    rows = [{"video_id": "=HYPERLINK(\"http://x\")", "logit": -1.25, "split": "-train"}]
    _write_csv(tmp_path / "per_video.csv", rows, ("video_id", "logit", "split"))
    with open(tmp_path / "per_video.csv", encoding="utf-8", newline="") as handle:
        (row,) = csv.DictReader(handle)
    assert row == {"video_id": "'=HYPERLINK(\"http://x\")", "logit": "-1.25", "split": "'-train"}
