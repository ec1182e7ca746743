"""`tfdeepfake`: a thin command line over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function that
runs it (``func(args) -> int`` exit code). Heavy imports happen inside ``func``.

Exit codes shared by every sub-command: 0 success, 1 the batch ran to the end but some
input failed (each has its row), 2 a usage or set-up error, 3 a crash (an unexpected
exception: its traceback goes to stderr), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import tempfile
import traceback
import warnings

EXIT_CRASH = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a program killed by the signal exits

# Sub-command modules, in the order `tfdeepfake --help` lists them.
COMMANDS = (
    "quickstart",
    "detect",
    "serve",
    "extract",
    "train",
    "evaluate",
    "export",
    "weights",
    "pretrained",
    "models",
    "samples",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="tfdeepfake", description="Deepfake video detection in Keras 3 / TensorFlow."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tfdeepfake.cli.{name}").register(subparsers)
    for sub in subparsers.choices.values():
        _add_verbose(sub, default=False)
    return parser


def _add_verbose(parser: argparse.ArgumentParser, default) -> None:
    """``--verbose`` on ``parser`` and on its actions (`weights sources --verbose`); an
    action's leaves the flag unset when not given, so `weights --verbose sources` keeps it."""
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show TensorFlow's, absl's and Keras' own log lines and warnings, "
                             "and tfdeepfake's debug messages")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_verbose(sub, default=argparse.SUPPRESS)


class _StderrHandler(logging.StreamHandler):
    """Writes each record to ``sys.stderr`` as it is when the record comes (callers such as
    test runners swap ``sys.stderr``; a handler holding the old one writes to a closed file)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_output(verbose: bool, tensorflow: bool = True) -> None:
    """Quiet by default, before Keras (and TensorFlow, on its backend) loads: TensorFlow's
    C++ logging (oneDNN notices, the 'failed call to cuInit' of a machine without a GPU) is
    set off by environment variables it reads at import, and the lines XLA writes before
    absl's logging is initialised (``cudart_stub``) are caught while it imports (shown if
    the import fails). On another Keras backend TensorFlow is imported there too, for the
    same reason, unless ``tensorflow`` is False (``detect`` on JAX keeps it out of the
    process).
    Python warnings and TensorFlow's Python logger keep errors only. ``tfdeepfake`` log
    records go to stderr as plain lines (INFO; DEBUG with ``verbose``)."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tfdeepfake")
    for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(old)  # one handler however often main() runs in a process
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Our handler prints them; a root handler that a library sets up (implicit basicConfig)
    # would print every record a second time with an 'INFO:name:' prefix.
    logger.propagate = False
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    _quiet_opencv()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with _stderr_captured() as caught:
        try:  # TensorFlow loads with Keras on its backend; on others, below, unless told not to
            import keras

            if tensorflow and keras.backend.backend() != "tensorflow":
                import tensorflow  # noqa: F401  (tf.data, MTCNN or export load it later)
        except Exception:
            sys.stderr.write(caught())
            raise
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # tf.get_logger(), not imported
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def _quiet_opencv() -> None:
    """OpenCV's and FFmpeg's own lines about a damaged file ('moov atom not found') off:
    the result row says what failed. FFmpeg's level is read when OpenCV first opens a video
    (child processes inherit it); OpenCV's is set here too, since cv2 is already loaded."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    if "cv2" in sys.modules:
        cv2 = sys.modules["cv2"]
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@contextlib.contextmanager
def _stderr_captured():
    """Point file descriptor 2 at a temporary file (C++ writes bypass ``sys.stderr``);
    yields a function that returns what was written."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: (sink.seek(0), sink.read().decode(errors="replace"))[1]
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def native_lines_dropped(*prefixes: str):
    """Drop the lines C++ libraries write to stderr that start with one of ``prefixes``
    (LiteRT's 'INFO: Created TensorFlow Lite XNNPACK delegate'); every other line the block
    writes to stderr is printed when it ends."""
    with _stderr_captured() as caught:
        try:
            yield
        finally:
            kept = [line for line in caught().splitlines(keepends=True)
                    if not line.startswith(prefixes)]
            sys.stderr.write("".join(kept))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tfdeepfake` console script."""
    args = build_parser().parse_args(argv)
    select_backend(getattr(args, "backend", None))
    configure_output(args.verbose, getattr(args, "loads_tensorflow", True))
    return run_guarded(f"tfdeepfake {args.command}", args.func, args)


def select_backend(backend: str | None) -> None:
    """Run Keras on ``backend`` (a flag such as `train --backend jax`): it must be chosen
    before Keras is imported, which importing TensorFlow does. In a process that already
    imported Keras on another backend the command itself says so (``Trainer``)."""
    if backend and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend


def run_guarded(prog: str, func, args: argparse.Namespace) -> int:
    """``func(args)``, with a crash exiting ``EXIT_CRASH`` (never 1, which means "some input
    failed") and its traceback on stderr."""
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `tfdeepfake models | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return EXIT_BROKEN_PIPE
    except Exception:
        traceback.print_exc(file=sys.stderr)
        print(f"{prog}: internal error (exit {EXIT_CRASH}); please report it with the "
              "traceback above", file=sys.stderr)
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
