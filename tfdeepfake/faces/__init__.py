"""Video decoding, face detection, tracking and cropping (TensorFlow allowed here)."""

from tfdeepfake.faces.crop import (
    CROP_MODES,
    STORED_MARGIN,
    crop_face,
    crop_region,
    crop_size_for,
    stored_crop_size,
)
from tfdeepfake.faces.errors import REASONS, ExtractionError
from tfdeepfake.faces.extraction import (
    FaceTrack,
    VideoFaces,
    default_face_finder,
    extract_faces,
    faces_from_video,
)
from tfdeepfake.faces.finder import FaceFinder, FrameFaces, MTCNNFaceFinder
from tfdeepfake.faces.tracking import Track, box_iou, track_faces
from tfdeepfake.faces.video import VideoFrames, plan_indices, read_frames_at, read_video

__all__ = [
    "CROP_MODES",
    "REASONS",
    "STORED_MARGIN",
    "ExtractionError",
    "FaceFinder",
    "FaceTrack",
    "FrameFaces",
    "MTCNNFaceFinder",
    "Track",
    "VideoFaces",
    "VideoFrames",
    "box_iou",
    "crop_face",
    "crop_region",
    "crop_size_for",
    "default_face_finder",
    "extract_faces",
    "faces_from_video",
    "plan_indices",
    "read_frames_at",
    "read_video",
    "stored_crop_size",
    "track_faces",
]
