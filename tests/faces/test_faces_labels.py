"""Labels: DFDC, FaceForensics++, Celeb-DF (1 = real there!), CSV; failures, not drops."""

import json
from pathlib import Path

import pytest

from tfdeepfake.faces.labels import detect_format, load_labels


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_dfdc_metadata(tmp_path):
    _touch(tmp_path, "a.mp4", "b.mp4", "c.mp4", "stray.mp4")
    meta = {
        "a.mp4": {"label": "REAL", "split": "train"},
        "b.mp4": {"label": "FAKE", "split": "train", "original": "a.mp4"},
        "c.mp4": {"label": "MAYBE"},
    }
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    videos, failures = load_labels(tmp_path)
    by_id = {v.video_id: v for v in videos}
    assert set(by_id) == {"a", "b"}
    assert by_id["a"].label == 0 and by_id["b"].label == 1 and by_id["b"].split == "train"
    assert by_id["b"].original == tmp_path / "a.mp4" and by_id["b"].original_id == "a"
    assert by_id["b"].dataset == "dfdc"
    reasons = {f.path.rsplit("/", 1)[-1]: f.reason for f in failures}
    assert reasons == {"c.mp4": "unknown_label", "stray.mp4": "unlabelled"}


def test_ffpp_layout(tmp_path):
    _touch(
        tmp_path,
        "original_sequences/youtube/c23/videos/000.mp4",
        "original_sequences/actors/c23/videos/01__walking.mp4",
        "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
        "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4",
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__ABC123.mp4",
    )
    assert detect_format(tmp_path, None) == "ffpp"
    videos, failures = load_labels(tmp_path)
    assert failures == []
    by_id = {v.video_id: v for v in videos}
    assert len(by_id) == 4  # the mask video is not a video to extract
    fake = by_id["manipulated_sequences/Deepfakes/c23/videos/000_003"]
    assert fake.label == 1 and fake.original_id == "original_sequences/youtube/c23/videos/000"
    dfd = by_id["manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__ABC123"]
    assert dfd.original.name == "01__walking.mp4" and dfd.original.exists()
    assert by_id["original_sequences/youtube/c23/videos/000"].label == 0


def test_celebdf_list_maps_one_to_real(tmp_path):
    _touch(tmp_path, "Celeb-real/id0_0001.mp4", "Celeb-synthesis/id0_id16_0001.mp4")
    listing = tmp_path / "List_of_testing_videos.txt"
    listing.write_text(
        "1 Celeb-real/id0_0001.mp4\n0 Celeb-synthesis/id0_id16_0001.mp4\n2 Celeb-real/x.mp4\n"
    )
    videos, failures = load_labels(tmp_path, listing)
    labels = {v.video_id: v.label for v in videos}
    assert labels == {"Celeb-real/id0_0001": 0, "Celeb-synthesis/id0_id16_0001": 1}
    fake = next(v for v in videos if v.label == 1)
    assert fake.original_id == "Celeb-real/id0_0001" and fake.split == "test"
    assert [f.reason for f in failures] == ["unknown_label"]


def test_csv_with_and_without_header(tmp_path):
    _touch(tmp_path, "r.mp4", "f.mp4")
    plain = tmp_path / "plain.csv"
    plain.write_text("r.mp4,REAL\nf.mp4,1,r.mp4\nr.mp4,0\n")
    videos, failures = load_labels(tmp_path, plain, split="val")
    assert [(v.video_id, v.label, v.original_id, v.split) for v in videos] == [
        ("r", 0, "", "val"),
        ("f", 1, "r", "val"),
    ]
    assert [f.reason for f in failures] == ["duplicate"]
    headed = tmp_path / "headed.csv"
    headed.write_text("label,path,split\nfake,f.mp4,train\nreal,r.mp4,test\nwhat,r.mp4,x\n")
    videos, failures = load_labels(tmp_path, headed, dataset="mine")
    assert [(v.video_id, v.label, v.split, v.dataset) for v in videos] == [
        ("f", 1, "train", "mine"),
        ("r", 0, "test", "mine"),
    ]
    assert [f.reason for f in failures] == ["unknown_label"]


def test_no_labels_means_unknown_label(tmp_path):
    _touch(tmp_path, "x.mp4", "sub/y.avi", "readme.txt", ".hidden/z.txt", "out/manifest.jsonl")
    videos, failures = load_labels(tmp_path, exclude=tmp_path / "out")
    assert sorted((v.video_id, v.label) for v in videos) == [("sub/y", -1), ("x", -1)]
    assert [(Path(f.path).name, f.reason) for f in failures] == [("readme.txt", "unsupported")]
    assert detect_format(tmp_path / "x.mp4", None) == "none"  # one video, no labels
    videos, failures = load_labels(tmp_path / "x.mp4")
    assert [(v.video_id, v.label) for v in videos] == [("x", -1)] and failures == []
    with pytest.raises(ValueError, match="readme.txt is not a video"):
        load_labels(tmp_path / "readme.txt")
    with pytest.raises(ValueError, match="No videos in .*sub-folders: extract reads videos"):
        load_labels(tmp_path / ".hidden")


def test_bad_paths_and_formats(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_labels(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="Labels file"):
        load_labels(tmp_path, tmp_path / "nope.csv")
    (tmp_path / "labels.xml").write_text("<x/>")
    with pytest.raises(ValueError, match="metadata.json"):
        load_labels(tmp_path, tmp_path / "labels.xml")
    (tmp_path / "metadata.json").write_text("{not json")
    videos, failures = load_labels(tmp_path, tmp_path / "metadata.json")
    assert videos == [] and [f.reason for f in failures] == ["bad_labels"]
    (tmp_path / "metadata.json").write_text("{}")
    with pytest.raises(ValueError, match="metadata.json list no videos"):
        load_labels(tmp_path, tmp_path / "metadata.json")


def test_files_sharing_a_name_without_suffix_keep_their_suffix_in_the_id(tmp_path):
    _touch(tmp_path, "clip.mp4", "clip.ts", "other.mp4", "notes.txt")
    videos, failures = load_labels(tmp_path, None, fmt="none")
    assert sorted(v.video_id for v in videos) == ["clip.mp4", "clip.ts", "other"]
    assert [(Path(f.path).name, f.reason) for f in failures] == [("notes.txt", "unsupported")]

    labels = tmp_path / "labels.csv"
    labels.write_text("clip.ts,1,clip.mp4\nclip.mp4,0\nother.mp4,0\n")
    videos, failures = load_labels(tmp_path, labels)
    assert [(v.video_id, v.label, v.original_id) for v in videos] == [
        ("clip.ts", 1, "clip.mp4"),
        ("clip.mp4", 0, ""),
        ("other", 0, ""),
    ]


def test_a_video_under_another_name_is_found_by_its_content(tmp_path):
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    (tmp_path / "clip.dat").write_bytes(mp4)
    (tmp_path / "readme.dat").write_bytes(b"plain text, not a video")
    videos, failures = load_labels(tmp_path, None, fmt="none")
    assert [v.path.name for v in videos] == ["clip.dat"]
    assert [Path(f.path).name for f in failures] == ["readme.dat"]


def test_extract_dataset_takes_options_as_a_dict_or_says_what_it_takes(tmp_path):
    from tfdeepfake.faces.dataset import extract_dataset

    with pytest.raises(TypeError, match="nope"):
        extract_dataset(tmp_path, tmp_path / "out", options={"nope": 1})
    with pytest.raises(TypeError, match="options must be an ExtractOptions or a dict"):
        extract_dataset(tmp_path, tmp_path / "out", options="frames=8")
