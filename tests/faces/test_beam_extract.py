"""`extract --runner direct` (Beam, 2 worker processes) against the one-machine path."""

import pytest
from test_faces_dataset import _failures, collection  # noqa: F401 (the shared fixture)

from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset

pytest.importorskip("apache_beam")


def _tracks(out):
    import tensorflow as tf

    from tfrecords_tools.schema import decode_track
    from tfrecords_tools.writer import read_manifest

    tracks = {}
    for entry in read_manifest(out):
        for raw in tf.data.TFRecordDataset(str(out / entry["shard"])).as_numpy_iterator():
            record = decode_track(raw)
            tracks[(record.video_id, record.track_id)] = record
    return tracks


@pytest.fixture(scope="module")
def one_machine(collection, tmp_path_factory):  # noqa: F811
    """The one-machine extraction of the collection: the reference."""
    root, labels, _ = collection
    local = tmp_path_factory.mktemp("one_machine")
    extract_dataset(root, local, labels, ExtractOptions(frames=3, crop_size=32), progress=False)
    return local


def _same_tracks(ours, theirs):
    import numpy as np

    assert ours.keys() == theirs.keys() == {("real", 0), ("fake", 0), ("orphan", 0)}
    for key, record in theirs.items():
        np.testing.assert_array_equal(ours[key].frame_index, record.frame_index)
        np.testing.assert_allclose(ours[key].boxes, record.boxes, atol=1e-4)
        np.testing.assert_array_equal(ours[key].crops, record.crops)
        assert (ours[key].masks is None) == (record.masks is None)
    np.testing.assert_array_equal(ours[("fake", 0)].masks, theirs[("fake", 0)].masks)


def test_beam_extraction_matches_one_machine(collection, one_machine, tmp_path,  # noqa: F811
                                             capsys):
    from tfdeepfake.cli import main
    from tfrecords_tools.validate import validate_shards

    root, labels, _ = collection
    local = one_machine
    beam_out = tmp_path / "beam"
    argv = ["extract", str(root), "--labels", str(labels), "--out", str(beam_out),
            "--frames", "3", "--crop-size", "32", "--quiet", "--runner", "direct",
            "--workers", "2"]
    assert main(argv) == 1  # the batch ran to its end; failures.csv lists the bad inputs
    printed = capsys.readouterr().out
    assert "extracted 3, already done 0" in printed and "no_face: 1" in printed
    report = validate_shards(beam_out)
    assert report.ok, report.problems
    assert not list(beam_out.glob(".*.tmp")) and not (beam_out / ".beam").exists()
    # The same failure rows (reasons) as the one-machine run, every bad input included.
    assert _failures(beam_out) == _failures(local)
    assert _failures(beam_out)["truncated.mp4"] == "corrupt"
    _same_tracks(_tracks(beam_out), _tracks(local))
    # A re-run skips every video already done (the three extracted and the no-face one).
    assert main(argv) == 1
    assert "extracted 0, already done 4" in capsys.readouterr().out
    assert _failures(beam_out)["orphan.mp4"] == "missing_original"


def test_beam_extraction_on_an_object_store(collection, one_machine, tmp_path,  # noqa: F811
                                            capsys):
    """Input, labels and output on a Beam filesystem (teststore://, an object-store model
    backed by a folder): the same shards, failures and resume; a lock object per output."""
    import shutil

    from folder_store import FolderStore

    from tfdeepfake.cli import main
    from tfdeepfake.safeio import FolderBusyError
    from tfrecords_tools.validate import validate_shards

    root, _, _ = collection
    FolderStore.root = tmp_path / "store"
    shutil.copytree(root, FolderStore.root / "bucket" / "videos")
    videos, out = "teststore://bucket/videos", "teststore://bucket/shards"
    argv = ["extract", videos, "--labels", f"{videos}/labels.csv", "--out", out, "--frames",
            "3", "--crop-size", "32", "--quiet", "--runner", "direct", "--workers", "1"]
    assert main(argv) == 1
    assert "extracted 3, already done 0" in capsys.readouterr().out
    stored = FolderStore.root / "bucket" / "shards"
    assert validate_shards(stored).ok
    assert sorted(p.name for p in stored.iterdir() if p.is_file() and "tracks" not in p.name) \
        == ["failures.csv", "manifest.jsonl", "summary.json", "unlabelled.txt"]
    assert not list(stored.glob("manifest.d/*"))  # the fragments were merged
    assert _failures(stored) == _failures(one_machine)
    assert f"{videos}/bad/truncated.mp4" in (stored / "failures.csv").read_text()
    _same_tracks(_tracks(stored), _tracks(one_machine))
    # A shard whose upload finished but whose manifest fragment never came is deleted;
    # the re-run skips every video done.
    shutil.copy(next(stored.glob("*.tfrecord")), stored / "tracks_dead-00000.tfrecord")
    assert main(argv) == 1
    assert "extracted 0, already done 4" in capsys.readouterr().out
    assert not (stored / "tracks_dead-00000.tfrecord").exists() and validate_shards(stored).ok
    # The lock object: a second run is refused while it exists.
    (stored / ".tfdeepfake.lock").write_text('{"host": "elsewhere", "pid": 1}')
    from tfdeepfake.pipelines.beam_extract import beam_extract_dataset

    with pytest.raises(FolderBusyError, match="in use by another extraction"):
        beam_extract_dataset(videos, out, f"{videos}/labels.csv", workers=1)


@pytest.mark.parametrize("pair", ["project", "=x"])
def test_bad_beam_option_is_named(pair):
    from tfdeepfake.pipelines.runners import parse_beam_options

    with pytest.raises(ValueError, match=f"--beam-option {pair!r} is not KEY=VALUE"):
        parse_beam_options([pair])


def _eight_copies_cli(root, tmp_path):
    """8 copies of the real video and the CLI run extracting them with 2 Beam workers,
    a shard per video (many renames); (the output folder, the command line)."""
    import shutil
    import sys

    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(8):
        shutil.copy(root / "real.mp4", videos / f"copy{i}.mp4")
    out = tmp_path / "out"
    cli = "import sys; from tfdeepfake.cli import main; sys.exit(main(sys.argv[1:]))"
    return out, [sys.executable, "-c", cli, "extract", str(videos), "--out", str(out),
                 "--frames", "3", "--crop-size", "32", "--quiet", "--runner", "direct",
                 "--workers", "2", "--shard-mb", "0.001"]


@pytest.mark.slow
def test_killed_run_leaves_whole_shards_and_resumes(collection, tmp_path):  # noqa: F811
    """SIGKILL the driver and its 2 Beam workers while a shard is being written: no
    half-written shard, and the re-run completes every video exactly once."""
    import os
    import signal
    import subprocess
    import time

    from tfrecords_tools.validate import validate_shards

    out, argv = _eight_copies_cli(collection[0], tmp_path)
    run = subprocess.Popen(argv, start_new_session=True)
    deadline = time.monotonic() + 600
    # Kill once a shard is complete while another is still being written.
    while not (list(out.glob(".*.tfrecord.tmp")) and list(out.glob("*.tfrecord"))):
        assert run.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no shard was written within 10 minutes"
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    # What was completed is whole and listed in the manifest; the shard being written is
    # only a hidden temporary, which the validator names as left over.
    report = validate_shards(out)
    assert report.shards >= 1 and {p.kind for p in report.problems} == {"leftover"}
    assert subprocess.run(argv, timeout=900).returncode == 0
    assert validate_shards(out).ok
    assert not list(out.glob(".*.tfrecord.tmp"))
    from tfrecords_tools.writer import read_manifest

    done = [v for entry in read_manifest(out) for v in entry["videos"]]
    assert sorted(done) == sorted(f"copy{i}" for i in range(8))  # each exactly once
    assert sorted(v for v, _ in _tracks(out)) == sorted(done)


@pytest.mark.slow
def test_killed_worker_stops_the_run_with_whole_shards_and_resumes(collection, tmp_path):  # noqa: F811
    """SIGKILL ONE of the 2 Beam worker processes mid-extraction: the run ends with a clear
    error (no hang), only whole shards are named, and the re-run completes every video."""
    import subprocess
    import time

    import psutil

    from tfdeepfake.pipelines.worker_watch import WORKER_MODULE
    from tfrecords_tools.validate import validate_shards
    from tfrecords_tools.writer import read_manifest

    out, argv = _eight_copies_cli(collection[0], tmp_path)
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not list(out.glob("*.tfrecord")):  # one video done: the workers are busy
        assert run.poll() is None, "the run ended before a worker could be killed"
        assert time.monotonic() < deadline, "no shard was written within 10 minutes"
        time.sleep(0.05)
    workers = [p for p in psutil.Process(run.pid).children(recursive=True)
               if p.name().startswith("python") and WORKER_MODULE in " ".join(p.cmdline())]
    assert len(workers) == 2
    workers[0].kill()
    printed, _ = run.communicate(timeout=300)  # the run stops by itself: no hang
    assert run.returncode == 1
    assert "a local Beam worker process died" in printed and "run the same command again" in printed
    assert not psutil.pid_exists(workers[1].pid) or workers[1].status() == psutil.STATUS_ZOMBIE
    report = validate_shards(out)  # named shards are whole and listed; a temporary may be left
    assert {p.kind for p in report.problems} <= {"leftover"}, report.problems
    finished = [v for entry in read_manifest(out) for v in entry["videos"]]
    assert 1 <= len(finished) < 8
    assert subprocess.run(argv, timeout=900).returncode == 0
    assert validate_shards(out).ok and not list(out.glob(".*.tfrecord.tmp"))
    done = [v for entry in read_manifest(out) for v in entry["videos"]]
    assert sorted(done) == sorted(f"copy{i}" for i in range(8))  # each exactly once
    assert sorted(v for v, _ in _tracks(out)) == sorted(done)
