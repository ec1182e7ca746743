"""Output file names made from input (video ids from label files, input paths) stay inside
the output folder."""

from tfrecords_tools.sample import dump_samples
from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.writer import ShardedWriter

HOSTILE_IDS = ["../../escaped", "/tmp/absolute", "sub/dir/x", "..", "-flag", "=1+1"]


def _files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_sample_names_from_video_ids_stay_in_out(tmp_path):
    shards = tmp_path / "shards"
    with ShardedWriter(shards) as writer:
        for i, vid in enumerate(HOSTILE_IDS):
            writer.write(synthetic_track(vid, i % 2, frames=1, seed=i))
    before = set(_files(tmp_path))
    out = tmp_path / "a" / "b" / "out"
    written = dump_samples(str(shards), out, n=len(HOSTILE_IDS))
    new = set(_files(tmp_path)) - before
    assert len(written) == len(HOSTILE_IDS)
    assert new and all(p.parent == out for p in new)  # nothing outside, no subfolders
    assert all(not p.name.startswith((".", "-")) for p in new)


def test_report_folders_from_input_paths_stay_in_the_report(tmp_path):
    from tfdeepfake.inference.report import report_folder
    from tfdeepfake.inference.results import VideoResult

    for i, path in enumerate(["../../x.mp4", "/etc/passwd", "a/../../b.mp4", "..", "-r.mp4"]):
        folder = report_folder(str(tmp_path), VideoResult(path), i)
        assert folder.parent == tmp_path and not folder.name.startswith((".", "-"))
