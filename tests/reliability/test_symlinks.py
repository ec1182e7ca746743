"""One rule for input folders and `**` globs: symlinked folders are followed, each real
folder once, so nothing inside a linked folder is silently skipped and a loop ends."""

import os

import pytest

from tfdeepfake.inference.detector import expand_inputs


@pytest.fixture
def tree(tmp_path):
    """in/b.mp4, in/sub/a.mp4, in/ext -> ../ext (holds c.mp4), in/loop -> ., in/again -> sub."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "ext").mkdir()
    for path in (root / "b.mp4", root / "sub" / "a.mp4", tmp_path / "ext" / "c.mp4"):
        path.write_bytes(b"x")
    os.symlink(tmp_path / "ext", root / "ext")
    os.symlink(".", root / "loop")
    os.symlink("sub", root / "again")
    return root


def test_folder_inputs_follow_links_once(tree):
    assert expand_inputs([str(tree)]) == [
        str(tree / "b.mp4"), str(tree / "ext" / "c.mp4"), str(tree / "sub" / "a.mp4")
    ]


def test_recursive_glob_survives_a_link_loop(tree):
    found = expand_inputs([f"{tree}/**/*.mp4"])
    assert sorted(found) == sorted(expand_inputs([str(tree)]))


def test_extraction_lists_videos_in_linked_folders(tree):
    from tfdeepfake.faces.labels import load_labels

    videos, _ = load_labels(tree, None, fmt="none")
    assert sorted(v.path.name for v in videos) == ["a.mp4", "b.mp4", "c.mp4"]


def test_shard_globs_follow_the_same_rule(tmp_path):
    from tfrecords_tools.reader import list_shards

    root = tmp_path / "shards"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "ext").mkdir()
    for path in (root / "top.tfrecord", root / "a" / "b" / "deep.tfrecord",
                 tmp_path / "ext" / "linked.tfrecord"):
        path.write_bytes(b"")
    os.symlink(tmp_path / "ext", root / "a" / "ext")
    os.symlink("..", root / "a" / "loop")
    found = list_shards(f"{root}/**/*.tfrecord")
    assert found == sorted([str(root / "top.tfrecord"), str(root / "a" / "b" / "deep.tfrecord"),
                            str(root / "a" / "ext" / "linked.tfrecord")])
