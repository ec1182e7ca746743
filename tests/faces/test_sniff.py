"""`faces.media`: a file's kind from its bytes (detect, extract and serve share the rule)."""

import cv2
import numpy as np
import pytest

from tfdeepfake.faces.media import is_media, media_kind, sniff

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def _jpeg() -> bytes:
    return cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()


def _ts(packet: int, lead: int) -> bytes:
    body = bytearray(4 * packet)
    for start in range(lead, len(body), packet):
        body[start] = 0x47
    return bytes(body)


@pytest.mark.parametrize("name,data,kind", [
    ("clip.jpg", MP4, "video"),  # a video under an image's name
    ("photo.mp4", None, "image"),  # a JPEG under a video's name
    ("cam.ts", _ts(188, 0), "video"),  # MPEG-TS: filetype does not know it
    ("00001.MTS", _ts(192, 4), "video"),  # AVCHD: a 4-byte time stamp before each packet
    ("anim.gif", b"GIF89a" + b"\x00" * 32, "video"),  # FFmpeg reads a GIF's frames
    ("song.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 32, "audio"),
    ("notes.mp4", b"these are not the frames you are looking for\n" * 10, "other"),
])
def test_the_content_says_what_a_file_is(tmp_path, name, data, kind):
    path = tmp_path / name
    path.write_bytes(_jpeg() if data is None else data)
    assert sniff(path)[0] == kind


def test_kind_falls_back_to_the_name_and_folders_list_media_by_content(tmp_path):
    assert media_kind(tmp_path / "missing.png") == "image"
    assert media_kind(tmp_path / "missing.mp4") == "video"
    (tmp_path / "clip.dat").write_bytes(MP4)
    (tmp_path / "notes.txt").write_text("not media")
    (tmp_path / "song.m4a").write_bytes(b"ID3\x04" + b"\x00" * 32)
    assert is_media(tmp_path / "clip.dat") and not is_media(tmp_path / "notes.txt")
    assert not is_media(tmp_path / "song.m4a")  # audio is not a detect input
    assert is_media(tmp_path / "song.m4a", ("audio",))
