"""Quiet by default: a command's stderr holds nothing a user cannot act on; --verbose gives
TensorFlow's own logging back."""

import os
import subprocess
import sys

SCRIPT = ("import os, sys; from tfdeepfake.cli import main; code = main(sys.argv[1:]); "
          "print('TF_CPP_MIN_LOG_LEVEL', os.environ.get('TF_CPP_MIN_LOG_LEVEL')); "
          "import logging; print('level', logging.getLogger('tfdeepfake').level)")


def _run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GRPC"))}
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_commands_are_quiet_by_default_and_verbose_on_request():
    quiet = _run("models", "autoatt_b4_tiny")
    assert quiet.returncode == 0, quiet.stderr
    assert "autoatt_b4_tiny" in quiet.stdout
    assert quiet.stderr == ""  # no absl/XLA/oneDNN lines, no warnings
    assert "TF_CPP_MIN_LOG_LEVEL 3" in quiet.stdout and "level 20" in quiet.stdout
    verbose = _run("models", "autoatt_b4_tiny", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "TF_CPP_MIN_LOG_LEVEL 3" not in verbose.stdout and "level 10" in verbose.stdout


def test_log_lines_are_printed_once_even_when_a_library_sets_up_root_logging():
    script = ("import logging, sys; from tfdeepfake.cli import configure_output; "
              "configure_output(False); logging.basicConfig(level=logging.INFO); "
              "logging.getLogger('tfdeepfake.training.trainer').info('step 10 loss 0.5')")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines().count("step 10 loss 0.5") == 1
    assert "INFO:tfdeepfake" not in run.stderr
