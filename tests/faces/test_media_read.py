"""`read_video` on media that is not a plain video: EXIF-turned photos, still images, cover
art of sound files, folders, and badly typed arguments."""

import os
import subprocess

import cv2
import numpy as np
import pytest
from faces_media import numbered_frames, write_video
from PIL import Image, ImageOps

from tfdeepfake.faces import REASONS, ExtractionError, read_frames_at, read_video

# EXIF Orientation -> (Pillow turn that stores an upright picture so the tag undoes it,
# clockwise degrees reported)
STORED = {
    1: (None, 0),
    2: (Image.Transpose.FLIP_LEFT_RIGHT, 0),
    3: (Image.Transpose.ROTATE_180, 180),
    4: (Image.Transpose.FLIP_TOP_BOTTOM, 0),
    5: (Image.Transpose.TRANSPOSE, 270),
    6: (Image.Transpose.ROTATE_90, 90),
    7: (Image.Transpose.TRANSVERSE, 90),
    8: (Image.Transpose.ROTATE_270, 270),
}


def upright_picture() -> np.ndarray:
    """48x64 RGB of flat blocks, no two alike under any turn or mirror (JPEG-proof)."""
    picture = np.zeros((48, 64, 3), np.uint8)
    picture[:24, :32] = (250, 30, 30)
    picture[:24, 32:] = (30, 250, 30)
    picture[24:, :32] = (30, 30, 250)
    picture[24:, 32:] = (240, 240, 240)
    picture[:8, :8] = (10, 10, 10)
    return picture


def write_exif_jpeg(path, orientation: int) -> str:
    turn, _ = STORED[orientation]
    image = Image.fromarray(upright_picture())
    stored = image.transpose(turn) if turn is not None else image
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, quality=95, exif=exif)
    return str(path)


def ffmpeg(*args) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                    "-y", *map(str, args)], check=True, capture_output=True)


@pytest.mark.parametrize("orientation", sorted(STORED))
def test_exif_orientation_turns_a_photo_upright(tmp_path, orientation):
    path = write_exif_jpeg(tmp_path / "photo.jpg", orientation)
    with Image.open(path) as made:  # the file is made right: Pillow turns it upright too
        turned = np.asarray(ImageOps.exif_transpose(made), int)
    assert np.abs(turned - upright_picture()).mean() < 8
    video = read_video(path, frames=1)
    assert video.frames.shape == (1, 48, 64, 3) and video.frame_size == (48, 64)
    assert np.abs(video.frames[0].astype(int) - upright_picture()).mean() < 8
    assert video.rotation == STORED[orientation][1]
    shrunk = read_frames_at(path, [0], max_side=32)
    assert shrunk.frames.shape == (1, 24, 32, 3) and shrunk.scale == pytest.approx(0.5)


def test_exif_orientation_with_a_non_utf8_name(tmp_path):
    path = os.path.join(os.fsdecode(bytes(tmp_path)), os.fsdecode(b"caf\xe9.jpg"))
    video = read_video(write_exif_jpeg(path, 6), frames=1)
    assert video.rotation == 90
    assert np.abs(video.frames[0].astype(int) - upright_picture()).mean() < 8


def test_a_still_image_has_no_frame_rate(tmp_path):
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), upright_picture())
    video = read_video(path, frames=4)
    assert (video.fps, video.duration, video.frame_count) == (0.0, 0.0, 1)


@pytest.fixture(scope="module")
def cover_art(tmp_path_factory):
    """Sound files whose only picture is cover art, made by imageio-ffmpeg's ffmpeg."""
    folder = tmp_path_factory.mktemp("cover")
    cover = folder / "cover.jpg"
    cv2.imwrite(str(cover), upright_picture())
    sine = ["-f", "lavfi", "-i", "sine=d=1"]
    art = ["-i", cover, "-map", "0", "-map", "1", "-c:v", "copy", "-disposition:v", "attached_pic"]
    ffmpeg(*sine, *art, "-c:a", "libmp3lame", "-id3v2_version", "3", folder / "song.mp3")
    ffmpeg(*sine, *art, "-c:a", "aac", folder / "song.m4a")
    ffmpeg("-i", folder / "song.mp3", "-map", "0", "-c", "copy", folder / "song.mkv")
    return folder


@pytest.mark.parametrize("name", ["song.mp3", "song.m4a", "song.mkv"])
def test_cover_art_of_a_sound_file_is_audio_only(cover_art, name):
    with pytest.raises(ExtractionError) as info:
        read_video(cover_art / name, frames=4)
    assert info.value.reason == "audio_only"
    assert "cover art" in info.value.detail


def test_a_one_frame_video_still_decodes_with_or_without_sound(tmp_path):
    silent = write_video(tmp_path / "one.mp4", numbered_frames(1))
    assert read_video(silent).frame_count == 1
    voiced = tmp_path / "voiced.mp4"
    ffmpeg("-i", silent, "-f", "lavfi", "-i", "sine=d=1", "-c:v", "copy", "-c:a", "aac", voiced)
    video = read_video(voiced)
    assert video.frame_count == 1 and video.fps > 0


def test_a_folder_is_not_one_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExtractionError) as info:
        read_video(tmp_path / "empty")
    assert info.value.reason == "empty_folder"
    (tmp_path / "empty" / "notes.txt").write_text("no video here")
    with pytest.raises(ExtractionError) as info:
        read_video(tmp_path / "empty")
    assert info.value.reason == "empty_folder"  # what `detect DIR` reports for it
    (tmp_path / "videos").mkdir()
    write_video(tmp_path / "videos" / "clip.mp4", numbered_frames(3))
    with pytest.raises(ExtractionError) as info:
        read_video(tmp_path / "videos")
    assert info.value.reason == "folder" and "pass one file" in str(info.value)


@pytest.mark.parametrize(
    "argument,value",
    [("frames", "4"), ("frames", 2.5), ("frames", True), ("stride", "2"),
     ("max_frames", 8.0), ("min_frames", None)],
)
def test_badly_typed_counts_name_the_argument(tmp_path, argument, value):
    path = write_video(tmp_path / "n.mp4", numbered_frames(3))
    with pytest.raises(ValueError, match=f"^{argument} must be >= 1.*an int"):
        read_video(path, **{argument: value})


def test_the_advice_fits_stills_and_small_faces():
    assert "lower --frames" not in REASONS["too_few_frames"]
    assert "still" in REASONS["too_few_frames"] and "tfdeepfake detect" in REASONS["too_few_frames"]
    assert "20 px" in REASONS["no_face"] and "crop in closer" in REASONS["no_face"]
