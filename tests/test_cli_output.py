"""Quiet by default: a command's stderr holds nothing a user cannot act on; --verbose gives
TensorFlow's own logging back; a tfdeepfake log line is printed once, even after a library
set up root logging."""

import os
import subprocess
import sys

# After the command: a library's implicit root logging set-up, then one tfdeepfake log line.
SCRIPT = ("import os, sys; from tfdeepfake.cli import main; code = main(sys.argv[1:]); "
          "print('TF_CPP_MIN_LOG_LEVEL', os.environ.get('TF_CPP_MIN_LOG_LEVEL')); "
          "import logging; print('level', logging.getLogger('tfdeepfake').level); "
          "logging.basicConfig(level=logging.INFO); "
          "logging.getLogger('tfdeepfake.training.trainer').info('step 10 loss 0.5')")


def _run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GRPC"))}
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_commands_are_quiet_by_default_log_lines_once_and_verbose_on_request():
    quiet = _run("models", "autoatt_b4_tiny")
    assert quiet.returncode == 0, quiet.stderr
    assert "autoatt_b4_tiny" in quiet.stdout
    # No absl/XLA/oneDNN lines, no warnings; the log line printed once, even with a root
    # handler set up (the tfdeepfake logger does not propagate to it).
    assert quiet.stderr == "step 10 loss 0.5\n"
    assert "TF_CPP_MIN_LOG_LEVEL 3" in quiet.stdout and "level 20" in quiet.stdout
    verbose = _run("models", "autoatt_b4_tiny", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "TF_CPP_MIN_LOG_LEVEL 3" not in verbose.stdout and "level 10" in verbose.stdout



def test_commands_on_jax_stay_quiet_when_tensorflow_loads_later():
    """On JAX, TensorFlow loads later (tf.data, MTCNN, export): its pre-absl lines are caught
    at start-up too, except for detect, which keeps TensorFlow out of the process."""
    later = ("import sys; from tfdeepfake.cli import main; code = main(sys.argv[1:]); "
             "loaded = 'tensorflow' in sys.modules; import tensorflow as tf; "
             "tf.data.Dataset.range(2); print('code', code, 'loaded', loaded)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GRPC"))}
    run = subprocess.run([sys.executable, "-c", later, "samples", "list"], capture_output=True,
                         text=True, env={**env, "KERAS_BACKEND": "jax"}, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "code 0 loaded True" in run.stdout
    assert run.stderr == "", run.stderr


def test_detect_backend_flag_selects_keras_backend_before_it_loads():
    """`detect --backend jax` runs Keras on JAX without KERAS_BACKEND (and keeps TensorFlow
    out of the process); an unknown backend is refused by the parser."""
    script = ("import sys; from tfdeepfake.cli import main; code = main(sys.argv[1:]); "
              "import keras; print('code', code, keras.backend.backend(), "
              "'tensorflow' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    run = subprocess.run([sys.executable, "-c", script, "detect", "missing.mp4", "--backend",
                          "jax"], capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    # no weights given: the usage error names the bundle to fetch; the backend was chosen
    assert "code 2 jax False" in run.stdout, run.stdout + run.stderr
    assert "tfdeepfake pretrained" in run.stderr
    bad = _run("detect", "missing.mp4", "--backend", "torch")
    assert bad.returncode == 2 and "invalid choice: 'torch'" in bad.stderr



def test_a_closed_pipe_ends_the_command_quietly():
    """`tfdeepfake models | head`: the reader left, so the command stops with 141 (128 +
    SIGPIPE) and no traceback."""
    command = "import sys; from tfdeepfake.cli import main; sys.exit(main(['models']))"
    proc = subprocess.Popen([sys.executable, "-c", command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command writes a line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert "Traceback" not in err and "internal error" not in err and "Exception" not in err


def test_damaged_video_lines_from_opencv_and_ffmpeg_are_off(tmp_path):
    """A truncated MP4 makes FFmpeg print 'moov atom not found' and OpenCV a cap.cpp warning;
    quiet by default keeps both out (the result row names the failure)."""
    script = ("import sys; from tfdeepfake.cli import configure_output; configure_output("
              "False, tensorflow=False); import cv2; cv2.VideoCapture(sys.argv[1], "
              "cv2.CAP_FFMPEG)")
    broken = tmp_path / "truncated.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV")}
    loud = subprocess.run([sys.executable, "-c", "import cv2, sys; cv2.VideoCapture(sys.argv[1],"
                           " cv2.CAP_FFMPEG)", str(broken)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert "moov atom not found" in loud.stderr  # the file does make them talk
    quiet = subprocess.run([sys.executable, "-c", script, str(broken)], capture_output=True,
                           text=True, env=env, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
