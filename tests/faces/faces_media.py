"""Media made inside the tests: numbered synthetic videos and a corpus of bad inputs."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import cv2
import numpy as np

BITS = 8  # numbered frames carry their index as 8 black/white vertical bars


def write_video(path: Path, frames, fps: float = 25.0, fourcc: str = "mp4v") -> Path:
    """Write RGB frames with OpenCV; returns the path."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"cannot write {path}"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def numbered_frames(count: int, size=(48, 64)):
    """Frames that show their index in binary: bar ``b`` is white when bit ``b`` is set."""
    height, width = size
    bar = width // BITS
    for i in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        for b in range(BITS):
            if i >> b & 1:
                frame[:, b * bar : (b + 1) * bar] = 255
        yield frame


def frame_number(frame: np.ndarray) -> int:
    """Inverse of ``numbered_frames`` (robust to compression: reads each bar's centre)."""
    bar = frame.shape[1] // BITS
    centres = frame[:, bar // 2 :: bar][:, :BITS].mean(axis=(0, 2))
    return int(sum(1 << b for b, v in enumerate(centres) if v > 128))


def upscale_video(source: Path, path: Path, size: tuple[int, int], count: int) -> Path:
    """The first ``count`` frames of ``source`` resized to ``size`` (width, height)."""
    capture = cv2.VideoCapture(str(source))
    frames = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(cv2.resize(bgr, size), cv2.COLOR_BGR2RGB))
    capture.release()
    return write_video(path, frames)


def rotate_mp4(source: Path, path: Path) -> Path:
    """A copy of an OpenCV-written mp4 whose track header says: display rotated by 90 deg."""
    data = bytearray(source.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    matrix = at + 8 + (32 if version == 1 else 20) + 16
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    return path


def write_wav(path: Path, seconds: float = 0.5) -> Path:
    """A sine-tone WAV file (audio only)."""
    rate = 8000
    tone = (np.sin(np.arange(int(rate * seconds)) * 0.3) * 3000).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(tone.tobytes())
    return path


def write_sound_only_mp4(path: Path) -> Path:
    """A minimal ISO media file whose only track has a sound handler (no video track)."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    handler = b"\0" * 8 + b"soun" + b"\0" * 12 + b"SoundHandler\0"
    moov = box(b"moov", box(b"trak", box(b"mdia", box(b"hdlr", handler))))
    path.write_bytes(box(b"ftyp", b"M4A \0\0\0\0M4A isom") + moov)
    return path


def bad_corpus(folder: Path) -> dict[str, tuple[Path, str]]:
    """Bad inputs: name -> (path, expected failure reason)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("these are not the frames you are looking for\n" * 20)
    good = write_video(folder / "whole.mp4", numbered_frames(20))
    data = good.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    good.unlink()
    write_wav(folder / "audio.mp4")
    write_video(folder / "one_frame.mp4", numbered_frames(1))
    noise = np.random.default_rng(0).integers(0, 256, (6, 48, 64, 3), dtype=np.uint8)
    write_video(folder / "noise.mp4", noise)
    return {
        "missing": (folder / "missing.mp4", "missing"),
        "empty": (folder / "empty.mp4", "empty"),
        "not_video": (folder / "notes.mp4", "not_video"),
        "truncated": (folder / "truncated.mp4", "corrupt"),
        "audio": (folder / "audio.mp4", "audio_only"),
        "one_frame": (folder / "one_frame.mp4", "too_few_frames"),
        "noise": (folder / "noise.mp4", "no_face"),
    }


def lying_avi(path: Path, count: int = 40) -> Path:
    """An MJPG AVI cut in half: its header claims ``count`` frames, about half decode."""
    write_video(path, numbered_frames(count), fourcc="MJPG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
