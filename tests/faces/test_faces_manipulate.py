"""Face swap: the donor lands on the face, the rest of the frame is untouched."""

import numpy as np
import pytest

from tfdeepfake.faces import read_video
from tfdeepfake.faces.manipulate import load_donor, swap_face


@pytest.mark.parametrize("blend", ["feather", "seamless"])
def test_swap_changes_only_the_face(mtcnn, sample_media, blend):
    frame = read_video(sample_media["carphone_pristine.mp4"], frames=1).frames[0]
    face = mtcnn.detect(frame[None])[0]
    donor = load_donor("grace_hopper", mtcnn)
    assert donor.name == "grace_hopper" and donor.landmarks.shape == (5, 2)
    fake = swap_face(frame, face.landmarks[0], donor, blend=blend)
    assert fake.shape == frame.shape and fake.dtype == np.uint8
    x0, y0, x1, y1 = face.boxes[0].astype(int)
    diff = np.abs(fake.astype(int) - frame.astype(int)).sum(-1)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    assert diff[cy - 5 : cy + 5, cx - 5 : cx + 5].mean() > 15  # the face changed
    outside = np.ones(diff.shape, bool)
    pad = (x1 - x0) // 2
    outside[max(y0 - pad, 0) : y1 + pad, max(x0 - pad, 0) : x1 + pad] = False
    assert diff[outside].max() == 0  # nothing else did


def test_bad_blend_and_missing_donor(mtcnn, tmp_path):
    from tfdeepfake.faces import ExtractionError

    with pytest.raises(ExtractionError) as info:
        load_donor(tmp_path / "nobody.jpg", mtcnn)
    assert info.value.reason == "missing" and "astronaut" in str(info.value)
    donor = load_donor("astronaut", mtcnn)
    with pytest.raises(ValueError, match="blend"):
        swap_face(donor.image, donor.landmarks, donor, blend="paint")
