"""--runner / --beam-option: each runner gets its Beam runner and the user's options."""

import pytest

pytest.importorskip("apache_beam")


def test_direct_runs_worker_processes():
    from apache_beam.options.pipeline_options import DirectOptions

    from tfdeepfake.pipelines.runners import pipeline_options

    direct = pipeline_options("direct", 2).view_as(DirectOptions)
    assert (direct.direct_running_mode, direct.direct_num_workers) == ("multi_processing", 2)
    one = pipeline_options("direct", 1).view_as(DirectOptions)
    assert one.direct_running_mode == "in_memory"


@pytest.mark.parametrize(
    "runner,beam_runner,pairs,view,expected",
    [
        ("dataflow", "DataflowRunner",
         ["project=my-project", "region=europe-west1", "temp_location=gs://b/tmp"],
         "GoogleCloudOptions", {"project": "my-project", "region": "europe-west1",
                                "temp_location": "gs://b/tmp"}),
        ("flink", "FlinkRunner", ["flink_master=localhost:8081", "parallelism=4"],
         "FlinkRunnerOptions", {"flink_master": "localhost:8081", "parallelism": 4}),
        ("spark", "SparkRunner", ["spark_master_url=spark://h:7077"],
         "SparkRunnerOptions", {"spark_master_url": "spark://h:7077"}),
    ],
)
def test_cluster_runners_get_the_users_options(runner, beam_runner, pairs, view, expected):
    from apache_beam.options import pipeline_options as po

    from tfdeepfake.pipelines.runners import pipeline_options

    options = pipeline_options(runner, 1, [*pairs, "setup_file=./pyproject.toml"])
    assert options.view_as(po.StandardOptions).runner == beam_runner
    assert options.view_as(po.SetupOptions).setup_file == "./pyproject.toml"
    got = options.view_as(getattr(po, view))
    assert {k: getattr(got, k) for k in expected} == expected


def test_unknown_runner_and_worker_count_are_refused():
    from tfdeepfake.pipelines.runners import pipeline_options

    with pytest.raises(ValueError, match="runner must be one of direct, dataflow"):
        pipeline_options("local")
    with pytest.raises(ValueError, match="workers must be >= 1"):
        pipeline_options("direct", 0)


def test_remote_labels_need_a_remote_input_folder(tmp_path, capsys):
    from tfdeepfake.cli import main

    code = main(["extract", str(tmp_path), "--labels", "gs://bucket/labels.csv", "--out",
                 str(tmp_path / "out"), "--runner", "direct"])
    assert code == 2
    assert "labels on another filesystem go with an input folder there too" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_beam_import_notice_about_bigquery_is_left_out():
    """Importing Beam logs 'apitools not found, and bigquery client libraries are not
    available' on the root logger; no tfdeepfake pipeline uses BigQuery."""
    import subprocess
    import sys

    plain = subprocess.run([sys.executable, "-c", "import apache_beam"], capture_output=True,
                           text=True, timeout=300)
    assert "apitools not found" in plain.stderr  # the notice this test guards against
    ours = subprocess.run([sys.executable, "-c", "from tfdeepfake.pipelines.cli import "
                           "_beam_missing; assert _beam_missing() is None"],
                          capture_output=True, text=True, timeout=300)
    assert ours.returncode == 0 and ours.stderr == "", ours.stderr
