"""File names that are not valid UTF-8: opened safely, written losslessly and readably."""

import csv
import json
import os
import shutil
import subprocess
import sys

from reliability_media import LATIN1_NAME

from tfdeepfake.safeio import display_name


def test_read_video_opens_a_non_utf8_name(tmp_path, small_video):
    # OpenCV segfaulted on such a str, so run it in a child: a crash fails this test only.
    path = tmp_path / LATIN1_NAME
    shutil.copy(small_video, path)
    code = (
        "import sys; from tfdeepfake.faces.video import read_video; "
        "v = read_video(sys.argv[1].encode('utf-8', 'surrogateescape').decode("
        "'utf-8', 'surrogateescape'), frames=4); print(v.frames.shape)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, os.fsencode(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(4, 48, 64, 3)" in done.stdout


def test_track_ids_round_trip_undecodable_bytes():
    import numpy as np

    from tfrecords_tools.schema import TrackRecord, decode_track, encode_track

    vid = LATIN1_NAME.removesuffix(".mp4")
    track = TrackRecord(vid, np.zeros((1, 8, 8, 3), np.uint8), [0], np.zeros((1, 4)),
                        np.zeros((1, 10)), [1.0], source_path="/data/" + LATIN1_NAME)
    back = decode_track(encode_track(track))
    assert back.video_id == vid and back.source_path == "/data/" + LATIN1_NAME


def test_extract_writes_names_readably_and_resumes(tmp_path, small_video, face_finder):
    from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset

    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(small_video, root / LATIN1_NAME)
    broken = b"bad\xff.mp4".decode("utf-8", "surrogateescape")
    (root / broken).write_bytes(b"not a video at all")
    options = ExtractOptions(frames=3, crop_size=16, masks=False)
    out = tmp_path / "out"
    first = extract_dataset(root, out, options=options, fmt="none", finder=face_finder,
                            progress=False)
    assert first.extracted == 1 and len(first.failures) == 1
    text = (out / "failures.csv").read_bytes().decode("utf-8")  # valid UTF-8
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["path"] for r in rows] == [display_name(str(root / broken))]
    assert rows[0]["reason"] == "not_video" and "bad\\xff.mp4" in rows[0]["message"]
    json.loads((out / "summary.json").read_text(encoding="utf-8"))
    again = extract_dataset(root, out, options=options, fmt="none", finder=face_finder,
                            progress=False)
    assert again.extracted == 0 and again.skipped == 1  # the café video is not redone
    assert len(again.failures) == 1  # the failure row is replaced, not duplicated


def test_unlabelled_list_is_utf8(tmp_path, small_video, face_finder):
    from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset

    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(small_video, root / "listed.mp4")
    shutil.copy(small_video, root / LATIN1_NAME)
    (root / "labels.csv").write_text("path,label\nlisted.mp4,REAL\n")
    out = tmp_path / "out"
    extract_dataset(root, out, root / "labels.csv", ExtractOptions(frames=3, crop_size=16),
                    finder=face_finder, progress=False)
    listed = (out / "unlabelled.txt").read_bytes().decode("utf-8").splitlines()
    assert listed == [display_name(str(root / LATIN1_NAME))]


def test_unlabelled_names_with_newlines_stay_one_per_line(tmp_path, small_video, face_finder):
    from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset
    from tfdeepfake.safeio import parse_display_name

    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(small_video, root / "listed.mp4")
    shutil.copy(small_video, root / "two\nlines.mp4")
    (root / "labels.csv").write_text("path,label\nlisted.mp4,REAL\n")
    extract_dataset(root, tmp_path / "out", root / "labels.csv",
                    ExtractOptions(frames=3, crop_size=16), finder=face_finder,
                    progress=False)
    listed = (tmp_path / "out" / "unlabelled.txt").read_text(encoding="utf-8").splitlines()
    assert [parse_display_name(line) for line in listed] == [str(root / "two\nlines.mp4")]


def test_detect_outputs_are_utf8_with_readable_names(tmp_path):
    from tfdeepfake.inference.outputs import format_table, write_csv, write_json
    from tfdeepfake.inference.results import VideoResult

    path = "/videos/" + LATIN1_NAME
    results = [VideoResult(path, verdict="ERROR", error=f"corrupt: {path}: damaged")]
    write_csv(results, ["m"], str(tmp_path / "r.csv"))
    write_json(results, {}, str(tmp_path / "r.json"))
    rows = list(csv.DictReader((tmp_path / "r.csv").read_bytes().decode("utf-8").splitlines()))
    assert rows[0]["path"] == "/videos/caf\\xe9.mp4"
    doc = json.loads((tmp_path / "r.json").read_bytes().decode("utf-8"))
    assert doc["results"][0]["path"] == "/videos/caf\\xe9.mp4"
    format_table(results, ["m"]).encode("utf-8")  # printable on a UTF-8 terminal


def test_a_failures_csv_of_the_old_format_is_read_literally(tmp_path, small_video, face_finder):
    """Before the ``format`` column, names and messages were written as they were: a
    backslash in such a name is not an escape, and a leading ``'`` is part of the text."""
    from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset

    root = tmp_path / "in"
    root.mkdir()
    killer = root / "dir\\x41b\\\\c.mp4"  # a literal backslash, "x41", two more backslashes
    shutil.copy(small_video, killer)
    shutil.copy(small_video, root / "ok.mp4")
    out = tmp_path / "out"
    out.mkdir()
    with open(out / "failures.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ("path", "reason", "message"),
            (str(killer), "quarantined", "workers died on it"),
            ("/gone/ghost.mp4", "missing", "'=as written"),
        ])
    summary = extract_dataset(root, out, options=ExtractOptions(frames=3, crop_size=16),
                              fmt="none", finder=face_finder, progress=False)
    assert summary.extracted == 1 and summary.skipped == 1  # the quarantined one is skipped
    assert [(f.path, f.message) for f in summary.failures] == [
        (str(killer), "workers died on it"), ("/gone/ghost.mp4", "'=as written")
    ]
    with open(out / "failures.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["format"] for r in rows] == ["2", "2"]
    assert rows[0]["path"] == display_name(str(killer)) != str(killer)
    again = extract_dataset(root, out, options=ExtractOptions(frames=3, crop_size=16),
                            fmt="none", finder=face_finder, progress=False)
    assert again.skipped == 2  # the rewritten (new format) file still names the same video
    assert [(f.path, f.message) for f in again.failures] == [
        (str(killer), "workers died on it"), ("/gone/ghost.mp4", "'=as written")
    ]
