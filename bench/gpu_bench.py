"""GPU benchmark: Keras 3 on JAX vs the PyTorch references, training and inference, one call.

For an NVIDIA host with JAX, PyTorch (and timm) but no TensorFlow: nothing imported here, or
by ``tfdeepfake.models``, imports TensorFlow. Each workload runs in its own process (JAX and
PyTorch never share a process or a memory pool). The JAX processes compile concurrently
(compile wall time is reported apart, and is longer than alone since the compiles share the
CPUs); the timed phase starts once every process has compiled (or ``--compile-deadline``
passed) and then runs one process at a time under a file lock, so timings do not overlap.
bf16 mixed precision on both sides (Keras ``mixed_bfloat16``; torch ``autocast(bfloat16)``,
channels-last), synthetic data already on the device, median of ``--repeats`` steps after
warm-up. Training is one optimizer step (Adam, BCE-with-logits on the logit).

    PYTHONPATH=/tmp/site:. python3 bench/gpu_bench.py --out $OUT        # the full set
    python bench/gpu_bench.py --tiny --out /tmp/gpu_tiny                 # tiny models, CPU ok

Writes ``gpu_bench.json`` and ``gpu_bench.md`` into ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 1.5  # goal: Keras/JAX at least 1.5x the PyTorch reference

# workload -> (preset, batch, side, frames) at full size and tiny (tiny = the *_tiny presets)
WORKLOADS = {
    "b4_infer": (("autoatt_b4", 64, 224, 0), ("autoatt_b4_tiny", 4, 32, 0)),
    "b4_train": (("autoatt_b4", 64, 224, 0), ("autoatt_b4_tiny", 4, 32, 0)),
    "b7_infer": (("efficientnet_b7", 32, 380, 0), ("b7_ssim_tiny", 2, 48, 0)),
    "b7_train": (("efficientnet_b7", 16, 380, 0), ("b7_ssim_tiny", 2, 48, 0)),
    "lstm_infer": (("resnet_lstm", 8, 112, 20), ("resnet_lstm_tiny", 2, 32, 8)),
    "lstm_train": (("resnet_lstm", 8, 112, 20), ("resnet_lstm_tiny", 2, 32, 8)),
}
# (workload, framework, variant). The first torch row of a workload is its reference.
JOBS = [
    ("b4_infer", "torch", "channels_last"),
    ("b4_infer", "jax", "jit"),
    ("b4_train", "torch", "channels_last"),
    ("b4_train", "jax", "jit"),
    ("b7_infer", "torch", "channels_last"),
    ("b7_infer", "torch", "nchw"),
    ("b7_infer", "jax", "jit"),
    ("b7_infer", "jax", "jit_bf16_policy"),
    ("b7_infer", "jax", "predict_on_batch"),
    ("b7_infer", "jax", "keras_applications"),
    ("b7_infer", "jax", "jit_b7_ssim"),
    ("b7_infer", "jax", "jit_b7_ssim_bf16_policy"),
    ("b7_train", "torch", "channels_last"),
    ("b7_train", "jax", "jit"),
    ("lstm_infer", "torch", "channels_last"),
    ("lstm_infer", "jax", "jit"),
    ("lstm_train", "torch", "channels_last"),
    ("lstm_train", "jax", "jit"),
]


# ----------------------------------------------------------------------------- helpers
def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _median_seconds(step, repeats: int, warmup: int) -> float:
    """Median wall seconds of ``step()`` (which must block until the device is done)."""
    from tfdeepfake.bench.timing import median_seconds  # children have the repo on the path

    return median_seconds(step, repeats, warmup)["median_s"]


class _Phase:
    """Compile concurrently, then time one process at a time (file lock in ``work``)."""

    def __init__(self, work: Path, name: str, total: int, deadline: float):
        self.work, self.name, self.total, self.deadline = work, name, total, deadline

    def timed(self):
        _log(f"{self.name} ready (compiled)")
        (self.work / f"ready.{self.name}").touch()
        while len(list(self.work.glob("ready.*"))) < self.total and time.time() < self.deadline:
            time.sleep(0.5)
        handle = open(self.work / "gpu.lock", "w")
        fcntl.flock(handle, fcntl.LOCK_EX)
        self.others_compiling = self.total - len(list(self.work.glob("ready.*")))
        _log(f"{self.name} timing ({self.others_compiling} processes still compiling)")
        return handle


def _shape(workload: str, tiny: bool) -> tuple[str, int, int, int]:
    """(preset, batch, side, frames); torch workers never import keras or tfdeepfake."""
    return WORKLOADS[workload][1 if tiny else 0]


# ------------------------------------------------------------------------------ JAX side
def run_jax(workload: str, variant: str, args, phase: _Phase) -> dict:
    """Build the tfdeepfake model (Keras on JAX), compile, time; a result row."""
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    if "tensorflow" in sys.modules:
        raise RuntimeError("tensorflow got imported on the JAX path: the GPU host has none.")
    keras.mixed_precision.set_dtype_policy(
        "bfloat16" if variant.endswith("bf16_policy") else "mixed_bfloat16"
    )
    name, batch, size, frames = _shape(workload, args.tiny)
    if variant.startswith("jit_b7_ssim"):
        name = "b7_ssim_tiny" if args.tiny else "b7_ssim"
    if variant == "keras_applications":
        model = keras.applications.EfficientNetB7(
            weights=None, input_shape=(size, size, 3), classes=1, classifier_activation=None
        )
    else:
        from tfdeepfake.models import create_model

        model = create_model(name)
    if frames:
        # Keras 3.15's JAX LSTM takes the cuDNN path (jax.experimental.rnn) on a GPU, which
        # accepts float32/64 only: under mixed_bfloat16 it fails ("Unknown output type
        # bfloat16"). Run the LSTM layer in float32; the CNN stays bf16.
        model.get_layer("lstm").dtype_policy = "float32"
        row_extra = {"lstm_policy": "float32"}
    else:
        row_extra = {}
    shape = (batch, frames, size, size, 3) if frames else (batch, size, size, 3)
    rng = np.random.default_rng(0)
    x_host = rng.standard_normal(shape, dtype=np.float32)
    y_host = (np.arange(batch) % 2).astype(np.float32).reshape(batch, 1)
    x, y = jnp.asarray(x_host), jnp.asarray(y_host)
    train = workload.endswith("_train")

    def logit(out):
        return (out["logit"] if isinstance(out, dict) else out).astype("float32")

    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    row = {
        "model": name,
        "batch": batch,
        "frames": frames,
        "policy": keras.config.dtype_policy().name,
        **row_extra,
    }
    if variant == "predict_on_batch":
        start = time.perf_counter()
        model.predict_on_batch(x_host)
        row["compile_s"] = time.perf_counter() - start
        lock = phase.timed()
        seconds = _median_seconds(
            lambda: np.asarray(model.predict_on_batch(x_host)["logit"]), args.repeats, 2
        )
        lock.close()
        return {**row, "step_s": seconds, "input": "host numpy (copied each call)"}
    if not train:

        def infer(tv, ntv, x):
            out, _ = model.stateless_call(tv, ntv, x, training=False)
            return logit(out)

        fn, call_args = jax.jit(infer), (tv, ntv, x)
    else:
        optimizer = keras.optimizers.Adam(1e-4)
        optimizer.build(model.trainable_variables)
        ov = [v.value for v in optimizer.variables]

        def loss_fn(tv, ntv, x, y):
            out, ntv = model.stateless_call(tv, ntv, x, training=True)
            z = logit(out)
            loss = jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))
            return loss, ntv

        def train_step(tv, ntv, ov, x, y):
            (loss, ntv), grads = jax.value_and_grad(loss_fn, has_aux=True)(tv, ntv, x, y)
            tv, ov = optimizer.stateless_apply(ov, grads, tv)
            return tv, ntv, ov, loss

        fn, call_args = jax.jit(train_step, donate_argnums=(0, 1, 2)), (tv, ntv, ov, x, y)
    _log(f"{name} built; compiling")
    start = time.perf_counter()
    compiled = fn.lower(*call_args).compile()
    row["compile_s"] = time.perf_counter() - start
    state = {"args": call_args}

    def step():
        if train:
            tv, ntv, ov, loss = compiled(*state["args"])
            state["args"] = (tv, ntv, ov, x, y)
            loss.block_until_ready()
        else:
            compiled(*state["args"]).block_until_ready()

    lock = phase.timed()
    seconds = _median_seconds(step, args.repeats, 3)
    lock.close()
    return {**row, "step_s": seconds, "input": "on device", "device": str(jax.devices()[0])}


# ---------------------------------------------------------------------------- torch side
def torch_model(workload: str, tiny: bool):
    """(module, reference description) for a workload; timm's B7 when timm is installed."""
    from tfdeepfake.weights import torch_references as refs

    if workload.startswith("b4"):
        return refs.IcprEfficientNet(attention=True), "efficientnet-pytorch B4 + attention conv"
    if workload.startswith("b7"):
        if tiny:
            return refs.DeepFakeClassifier(0.25, 0.1), "timm-layout tf_efficientnet (tiny)"
        try:
            import timm

            return (
                timm.create_model("tf_efficientnet_b7", num_classes=1),
                f"timm {timm.__version__} tf_efficientnet_b7",
            )
        except ImportError:
            return refs.DeepFakeClassifier(), "timm-layout tf_efficientnet_b7 rebuild (no timm)"
    return refs.ResNeXtLSTM(), "ResNeXt50_32x4d + LSTM(2048) rebuild"


def run_torch(workload: str, variant: str, args, phase: _Phase) -> dict:
    """Time the PyTorch reference: eager, bf16 autocast, cudnn.benchmark."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cudnn.benchmark = True
    _, batch, size, frames = _shape(workload, args.tiny)
    model, reference = torch_model(workload, args.tiny)
    model = model.to(device)
    fmt = torch.channels_last if variant == "channels_last" else torch.contiguous_format
    if not frames:
        model = model.to(memory_format=fmt)
    shape = (batch, frames, 3, size, size) if frames else (batch, 3, size, size)
    x = torch.randn(shape, device=device)
    if not frames:
        x = x.contiguous(memory_format=fmt)
    y = (torch.arange(batch, device=device) % 2).float()
    train = workload.endswith("_train")
    model.train(train)
    optimizer = torch.optim.Adam(model.parameters(), 1e-4) if train else None

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def step():
        with torch.autocast(device, dtype=torch.bfloat16):
            if train:
                out = model(x)
                z = out[:, -1] if out.shape[-1] > 1 else out[:, 0]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z.float(), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            else:
                with torch.inference_mode():
                    model(x)
        sync()

    step()  # the first call (cudnn.benchmark's algorithm search) overlaps the JAX compiles
    lock = phase.timed()
    seconds = _median_seconds(step, args.repeats, 2)
    lock.close()
    return {
        "model": reference,
        "batch": batch,
        "frames": frames,
        "policy": "autocast bfloat16",
        "compile_s": None,
        "step_s": seconds,
        "input": "on device",
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
    }


# ---------------------------------------------------------------------------- the parent
def worker(args) -> None:
    """Child process: one (workload, framework, variant); writes its row to ``args.result``."""
    workload, framework, variant = args.worker.split(":")
    _log(f"worker {args.worker} starts")
    phase = _Phase(Path(args.work), args.worker.replace(":", "_"), args.total, args.deadline)
    run = run_jax if framework == "jax" else run_torch
    try:
        row = run(workload, variant, args, phase)
    except Exception as exc:  # a failed workload is recorded and the others go on
        (Path(args.work) / f"ready.{phase.name}").touch()
        row = {"error": f"{type(exc).__name__}: {exc}"}
    row.update(
        workload=workload,
        framework=framework,
        variant=variant,
        others_compiling=getattr(phase, "others_compiling", None),
    )
    _log(f"worker {args.worker} done: {row.get('step_s', row.get('error'))}")
    Path(args.result).write_text(json.dumps(row))


def _versions() -> dict:
    versions = {"python": platform.python_version(), "machine": platform.machine()}
    for name in ("jax", "jaxlib", "keras", "torch", "timm", "numpy"):
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        from importlib.metadata import PackageNotFoundError, version

        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "unknown"
    try:
        versions["gpu"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        versions["gpu"] = "none"
    return versions


def table(rows: list[dict]) -> str:
    """Markdown table: items/s per row and the ratio to the workload's torch reference."""
    refs = {}
    for r in rows:
        if r["framework"] == "torch" and "step_s" in r:
            refs.setdefault(r["workload"], r)
    lines = [
        "| workload | framework | variant | batch | compile s | ms/step | items/s | x torch "
        f"(goal {TARGET}x) | compiles running while timed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = f"| {r['workload']} | {r['framework']} | {r['variant']} | {r.get('batch', '')} |"
        if "step_s" not in r:
            lines.append(f"{head} | | | | | {r.get('error', 'did not finish')} |")
            continue
        per_s = r["batch"] / r["step_s"]
        ref = refs.get(r["workload"])
        ratio = f"{ref['step_s'] / r['step_s']:.2f}" if ref else "n/a"
        busy = r.get("others_compiling")
        busy = "" if busy is None else str(busy)
        compile_s = f"{r['compile_s']:.1f}" if r.get("compile_s") is not None else ""
        unit = " clips" if r.get("frames") else ""
        lines.append(
            f"{head} {compile_s} | {r['step_s'] * 1e3:.1f} | {per_s:,.1f}{unit} | {ratio} |"
            f" {busy} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for gpu_bench.json / .md")
    parser.add_argument("--tiny", action="store_true", help="tiny presets and batches")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--budget", type=float, default=380.0, help="seconds for everything")
    parser.add_argument(
        "--compile-deadline",
        type=float,
        default=600.0,
        help="seconds after which timing starts even if compiles still run",
    )
    parser.add_argument("--only", nargs="+", help="workloads to run (default: all)")
    parser.add_argument("--jobs", nargs="+", help="workload:framework:variant keys to run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu_bench_"))  # $OUT brings back a few files only
    jobs = [j for j in JOBS if not args.only or j[0] in args.only]
    jobs = [j for j in jobs if not args.jobs or ":".join(j) in args.jobs]
    started = time.time()
    deadline = started + args.compile_deadline
    procs = []
    for job in jobs:
        key = ":".join(job)
        result = work / f"{key.replace(':', '_')}.json"
        cmd = [
            sys.executable,
            __file__,
            "--out",
            str(out),
            "--worker",
            key,
            "--work",
            str(work),
            "--result",
            str(result),
            "--total",
            str(len(jobs)),
            "--deadline",
            str(deadline),
            "--repeats",
            str(args.repeats),
        ] + (["--tiny"] if args.tiny else [])
        log = open(work / f"{key.replace(':', '_')}.log", "w")
        env = {
            **os.environ,
            "KERAS_BACKEND": "jax",  # keras' default backend would import tensorflow
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # several processes share the GPU
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        procs.append(
            (job, result, log, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))
        )
    rows, logs = [], []
    for job, result, log, proc in procs:
        left = max(1.0, started + args.budget - time.time())
        try:
            proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        logs.append(f"===== {':'.join(job)}\n" + Path(log.name).read_text()[-4000:])
        if result.exists():
            rows.append(json.loads(result.read_text()))
        else:
            tail = Path(log.name).read_text()[-300:].replace("\n", " ")
            why = (
                f"no result within the {args.budget:.0f} s budget"
                if proc.returncode == -9
                else f"exit {proc.returncode}: {tail}"
            )
            rows.append({"workload": job[0], "framework": job[1], "variant": job[2], "error": why})
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "versions": _versions(),
        "tiny": args.tiny,
        "repeats": args.repeats,
        "wall_s": time.time() - started,
        "rows": rows,
    }
    (out / "gpu_bench.json").write_text(json.dumps(report, indent=1))
    (out / "gpu_bench_logs.txt").write_text("\n".join(logs))
    md = table(rows)
    (out / "gpu_bench.md").write_text(md + "\n")
    print(json.dumps(report["versions"]))
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
