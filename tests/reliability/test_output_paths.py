"""Output paths are checked before any work: an output never overwrites an input or another
output, and a folder, a file in the way or an unwritable place stops the command with exit 2
and a message naming the flag, the path and the fix (not a traceback after the batch)."""

import pytest

from tfdeepfake.cli import main
from tfdeepfake.cli.output_paths import check_output_dir, check_output_files


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"video bytes")
    return path


def test_an_output_naming_an_input_or_another_output_is_refused(tmp_path, video):
    with pytest.raises(ValueError, match=r"--csv .*clip.mp4 is also an input: writing it "
                       r"would overwrite"):
        check_output_files({"--csv": str(video)}, inputs=[str(video)])
    # the same file by another name (a `..` path, a symlink)
    link = tmp_path / "link.mp4"
    link.symlink_to(video)
    with pytest.raises(ValueError, match="is also an input"):
        check_output_files({"--json": str(tmp_path / "sub" / ".." / "link.mp4")},
                           inputs=[str(video)])
    with pytest.raises(ValueError, match="--json and --csv both name"):
        check_output_files({"--csv": str(tmp_path / "x"), "--json": f"{tmp_path}/./x"})
    check_output_files({"--csv": str(tmp_path / "new" / "deeper" / "out.csv"),
                        "--json": str(tmp_path / "out.json"), "--jsonl": None},
                       inputs=[str(video)])  # fine: nothing in the way


def test_folders_files_in_the_way_and_unwritable_places_are_refused(tmp_path, video):
    with pytest.raises(ValueError, match=r"--csv .* is a folder\. Give a file name, for "
                       r"example .*results\.csv"):
        check_output_files({"--csv": str(tmp_path)})
    with pytest.raises(ValueError, match=r"clip\.mp4 is a file, so the file cannot be created"):
        check_output_files({"--csv": str(video / "out.csv")})
    with pytest.raises(ValueError, match=r"--out .*clip\.mp4 is a file, not a folder"):
        check_output_dir(str(video))
    with pytest.raises(ValueError, match="--report /proc/.*cannot write in /proc"):
        check_output_dir("/proc/no/such/report", "--report")
    check_output_dir(str(tmp_path / "a" / "b"))  # made later by the command
    check_output_dir("gs://bucket/run")  # remote: left to its filesystem
    assert not (tmp_path / "a").exists()  # checking creates nothing


@pytest.mark.parametrize("flags", [["--csv", "{video}"], ["--json", "{video}"],
                                   ["--csv", "{tmp}/r", "--json", "{tmp}/r"],
                                   ["--report", "{video}"], ["--csv", "{tmp}"]])
def test_detect_stops_before_scoring_and_leaves_the_input_alone(flags, tmp_path, video,
                                                                capsys):
    args = [f.format(video=video, tmp=tmp_path) for f in flags]
    code = main(["detect", "--allow-untrained", "--models", "autoatt_b4_tiny", "--quiet",
                 *args, str(video)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("tfdeepfake detect: ") and "Traceback" not in err
    assert video.read_bytes() == b"video bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # nothing written


def test_evaluate_refuses_an_out_that_is_a_file(tmp_path, video, capsys):
    run = tmp_path / "run"
    run.mkdir()
    code = main(["evaluate", "--run", str(run), "--data", str(tmp_path), "--out", str(video)])
    assert code == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert video.read_bytes() == b"video bytes"
