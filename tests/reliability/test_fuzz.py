"""Fuzz: truncated and byte-mutated real videos under random file names (not UTF-8, with
separators-like bytes, leading `-` and `=`) through `extract` and `detect`. Every input gets
exactly one row, nothing crashes, no file lands outside the output folder. Seeded and
bounded (derandomized Hypothesis, a few examples of a few small inputs)."""

import csv
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_media import FixedFaceFinder

from tfdeepfake.safeio import csv_unescape, parse_display_name

FUZZ = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

name_bytes = st.binary(min_size=0, max_size=12).map(
    lambda b: b.replace(b"/", b"\\").replace(b"\0", b"\x01")
)
mutation = st.one_of(
    st.tuples(st.just("keep"), st.just(0), st.just(0)),
    st.tuples(st.just("truncate"), st.floats(0.0, 0.99), st.just(0)),
    st.tuples(st.just("flip"), st.floats(0.0, 1.0), st.integers(1, 64)),
)
an_input = st.tuples(st.sampled_from([b"", b"-", b"=", b"+", b"@", b"-rf "]), name_bytes, mutation)
inputs = st.lists(an_input, min_size=1, max_size=4)


def _make(folder: Path, spec, video: bytes) -> list[str]:
    """Write the inputs; their paths as Python holds them (surrogate-escaped str)."""
    paths = []
    for i, (prefix, body, (kind, where, count)) in enumerate(spec):
        data = bytearray(video)
        if kind == "truncate":
            data = data[: int(len(data) * where)]
        elif kind == "flip":
            start = int(len(data) * where) % len(data)
            for k in range(count):
                data[(start + 97 * k) % len(data)] ^= 0xFF
        path = os.path.join(os.fsencode(folder), prefix + body + b"_%d.mp4" % i)
        with open(path, "wb") as handle:
            handle.write(bytes(data))
        paths.append(os.fsdecode(path))
    return paths


def _all_files(folder: Path) -> set[str]:
    return {os.path.join(r, f) for r, _, files in os.walk(os.fsencode(folder)) for f in files}


@pytest.fixture(scope="module")
def video_bytes(small_video) -> bytes:
    return small_video.read_bytes()


@FUZZ
@given(spec=inputs)
def test_extract_gives_every_input_one_row(spec, video_bytes):
    from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset
    from tfrecords_tools.writer import read_manifest

    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "in", Path(tmp) / "out"
        root.mkdir()
        paths = _make(root, spec, video_bytes)
        before = _all_files(Path(tmp))
        summary = extract_dataset(root, out, options=ExtractOptions(frames=3, crop_size=16),
                                  fmt="none", finder=FixedFaceFinder(), progress=False)
        done = [v for e in read_manifest(out) for v in e["videos"]]
        with open(out / "failures.csv", encoding="utf-8", newline="") as handle:
            failed = [parse_display_name(r["path"]) for r in csv.DictReader(handle)]
        ids = {Path(p).stem: p for p in paths}
        rows = [ids[v] for v in done] + failed
        assert sorted(rows) == sorted(paths)  # every input exactly once
        assert summary.extracted + len(summary.failures) == len(paths)
        new = _all_files(Path(tmp)) - before
        assert all(p.startswith(os.fsencode(out) + b"/") for p in new)


@pytest.fixture(scope="module")
def untrained_detector():
    from tfdeepfake.inference import Detector

    return Detector(models=["autoatt_b4_tiny"], allow_untrained=True, frames=2,
                    face_finder=FixedFaceFinder())


@FUZZ
@given(spec=inputs)
def test_detect_gives_every_input_one_row(spec, video_bytes, untrained_detector):
    from tfdeepfake.inference.outputs import write_csv, write_json

    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "in", Path(tmp) / "out"
        root.mkdir()
        paths = _make(root, spec, video_bytes)
        before = _all_files(Path(tmp))
        results = untrained_detector.predict(paths, report_dir=str(out / "report"))
        assert [r.path for r in results] == paths
        write_csv(results, untrained_detector.model_names, str(out / "r.csv"))
        write_json(results, {}, str(out / "r.json"))
        with open(out / "r.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        shown = [parse_display_name(csv_unescape(r["path"])) for r in rows]
        assert shown == paths
        doc = json.loads((out / "r.json").read_bytes().decode("utf-8"))
        assert [parse_display_name(r["path"]) for r in doc["results"]] == paths
        new = _all_files(Path(tmp)) - before
        assert all(p.startswith(os.fsencode(out) + b"/") for p in new)
