"""`tfdeepfake serve`: the upload page, REST API (/api/v1, docs at /api/docs) and job queue.

Jobs, uploads and results live in --data-dir (SQLite there unless --db names another
database). Stop with Ctrl-C; queued jobs wait for the next start, and a job that was running
when the server died is run again (or, after --max-attempts starts, failed with the reason).
"""

from __future__ import annotations

import argparse
import socket
import sys

from tfdeepfake.cli.extract import add_limit_flags


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="web page + REST API: upload videos, get verdicts, per-frame scores",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the "
                   "network)")
    p.add_argument("--port", type=port_number, default=8000,
                   help="TCP port to listen on (default 8000; 0: a free one the system picks)")
    weights = p.add_mutually_exclusive_group()
    weights.add_argument("--weights", metavar="DIR",
                         help="a run folder (tfdeepfake train / weights import) or a folder "
                         "of them")
    weights.add_argument("--pretrained", metavar="NAME",
                         help="a published-weights bundle (`tfdeepfake pretrained` lists them), "
                         "downloaded, verified and imported on first use")
    p.add_argument("--models", nargs="+", metavar="NAME", help="presets to run")
    p.add_argument("--frames", type=int, help="frames sampled per video (default: the presets')")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="ensemble fake probability at or above which a video is FAKE "
                   "(default 0.5)")
    p.add_argument("--workers", type=int, default=1, help="jobs scored at once (default 1)")
    p.add_argument("--queue-size", type=int, default=100,
                   help="jobs waiting at most; more uploads get HTTP 503 (default 100)")
    p.add_argument("--data-dir", default="tfdeepfake-serve", metavar="DIR",
                   help="uploads, results and the SQLite job database (default "
                   "tfdeepfake-serve)")
    p.add_argument("--db", metavar="URL",
                   help="SQLAlchemy database URL (default: sqlite in --data-dir)")
    p.add_argument("--max-upload-mb", type=float, default=500.0,
                   help="larger uploads get HTTP 413 (default 500)")
    p.add_argument("--keep-hours", type=float, default=24.0,
                   help="delete finished jobs and their files after this long (0: keep; "
                   "default 24)")
    p.add_argument("--max-attempts", type=int, default=2,
                   help="starts of a job interrupted by server stops before it is failed "
                   "(default 2)")
    add_limit_flags(p)
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on the API")
    p.add_argument("--no-report", action="store_true",
                   help="skip the per-frame chart and heatmap videos (faster)")
    p.set_defaults(func=run)


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0-65535 (argparse names the flag in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return value


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, as uvicorn binds it; an ``OSError`` that names the
    address and the fix when it is taken or cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port} ({err.strerror or err}). Give another "
                      "--port (or stop the program using it), or another --host.") from None
    return sock


def config_from_args(args: argparse.Namespace):
    """The ``ServeConfig`` the flags describe (``ValueError`` on a bad value)."""
    from tfdeepfake.serve import ServeConfig

    return ServeConfig(
        weights=args.weights, pretrained=args.pretrained, models=args.models,
        data_dir=args.data_dir, db_url=args.db,
        workers=args.workers, queue_size=args.queue_size, max_upload_mb=args.max_upload_mb,
        keep_hours=args.keep_hours, token=args.token, frames=args.frames,
        threshold=args.threshold, report=not args.no_report, max_attempts=args.max_attempts,
        max_frames=args.max_frames, max_pixels=args.max_pixels, time_limit=args.time_limit)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from tfdeepfake.inference import MissingWeightsError
    from tfdeepfake.serve import create_app

    try:
        config = config_from_args(args)
        sock = listen(args.host, args.port)  # before the models load: a taken port is said now
    except (OSError, ValueError) as err:
        print(f"tfdeepfake serve: {err}", file=sys.stderr)
        return 2
    with sock:
        try:
            app = create_app(config)
        except (MissingWeightsError, OSError, ValueError, RuntimeError, ImportError) as err:
            print(f"tfdeepfake serve: {err}", file=sys.stderr)
            return 2
        port = sock.getsockname()[1]
        print(f"tfdeepfake serve: http://{args.host}:{port}/ (API docs: /api/docs); "
              f"data in {config.data_dir}", flush=True)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=port,
                                               log_level="warning"))
        server.run(sockets=[sock])
    return 0
