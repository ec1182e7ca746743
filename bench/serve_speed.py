"""What `tfdeepfake serve` adds to `detect`'s own time, and how busy a queue keeps the cores.

In one process: one Detector (random weights: speed does not depend on them) scores a 10 s
1280x720 video directly (``Detector.predict_video``, the reference), then a real server
(``create_app`` under uvicorn on 127.0.0.1, sharing that Detector) scores the same video
sent through the REST API by ``tfdeepfake.serve.submit`` (upload, queue, worker, result
files, polling). Prints the median seconds of both and the overhead (goal <= 10 %). Then a
queue of ``--jobs`` uploads at once: wall time, jobs per minute, the speed-up over scoring
them one after another, and the mean CPU use of all cores while the queue drains.

    python bench/serve_speed.py                      # full-size ensemble, 32 frames
    python bench/serve_speed.py --tiny --jobs 20     # the tiny presets (seconds)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import statistics
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import psutil  # noqa: E402

from tfdeepfake.bench.detect_speed import make_720p_video  # noqa: E402


def start_server(app) -> tuple[str, object, threading.Thread]:
    """uvicorn serving ``app`` on a free loopback port, in a thread; returns its URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet_lstm", "autoatt_b4", "b7_ssim"])
    parser.add_argument("--tiny", action="store_true", help="use the *_tiny presets")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=20, help="uploads queued at once")
    parser.add_argument("--workers", type=int, default=2, help="the server's --workers")
    parser.add_argument("--report", action="store_true",
                        help="chart and heatmap videos in both runs (the server's default)")
    args = parser.parse_args()

    from tfdeepfake.inference import Detector
    from tfdeepfake.serve import ServeConfig, create_app, submit

    models = [f"{m}_tiny" for m in args.models] if args.tiny else args.models
    with tempfile.TemporaryDirectory() as tmp:
        video = make_720p_video(os.path.join(tmp, "720p_10s.mp4"))
        detector = Detector(models, allow_untrained=True, frames=args.frames)
        report = os.path.join(tmp, "report") if args.report else None
        detector.predict_video(video, report_folder=report)  # warm-up: tracing, MTCNN
        direct = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            detector.predict_video(video, report_folder=report)
            direct.append(time.perf_counter() - began)

        config = ServeConfig(data_dir=os.path.join(tmp, "serve"), workers=args.workers,
                             report=args.report, keep_hours=0)
        url, server, thread = start_server(create_app(config, detector=detector))
        served = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            job = submit(url, video, poll=0.05)
            served.append(time.perf_counter() - began)
            assert job["status"] == "done", job["error"]

        psutil.cpu_percent(percpu=True)  # starts the CPU-use interval
        began = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            jobs = list(pool.map(lambda _: submit(url, video, poll=0.2), range(args.jobs)))
        queue_seconds = time.perf_counter() - began
        busy = psutil.cpu_percent(percpu=True)
        server.should_exit = True
        thread.join(30)

    failed = [j["id"] for j in jobs if j["status"] != "done"]
    direct_s, served_s = statistics.median(direct), statistics.median(served)
    one_by_one = direct_s * args.jobs
    print(f"models: {', '.join(models)}; {args.frames} frames of a 10 s 1280x720 video; "
          f"report: {'yes' if args.report else 'no'}; {os.cpu_count()} CPUs")
    print(f"detect (Detector.predict_video), median of {args.repeats}: {direct_s:7.2f} s")
    print(f"serve (upload + queue + score + result), median:   {served_s:7.2f} s")
    print(f"server overhead: {served_s - direct_s:+.2f} s = "
          f"{100 * (served_s - direct_s) / direct_s:+.1f} % (goal <= 10 %)")
    print(f"queue of {args.jobs} jobs, {args.workers} workers: {queue_seconds:.1f} s "
          f"({60 * args.jobs / queue_seconds:.1f} jobs/min; one after another: "
          f"{one_by_one:.1f} s, speed-up {one_by_one / queue_seconds:.2f}x); "
          f"CPU use per core while it drained: {', '.join(f'{b:.0f}%' for b in busy)}; "
          f"failed jobs: {len(failed)}")


if __name__ == "__main__":
    main()
