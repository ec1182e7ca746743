"""The REST API through a test client: uploads, results in detect's schema, bad input,
limits, token, deletion, expiry and recovery of interrupted jobs."""

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from serve_helpers import wait_finished

from tfdeepfake.serve import ServeConfig, create_app
from tfdeepfake.serve.store import DONE, FAILED, QUEUED, RUNNING, UPLOADING, JobStore
from tfdeepfake.serve.workers import remove_expired


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("serve-data")


@pytest.fixture(scope="module")
def client(serve_detector, data_dir):
    app = create_app(ServeConfig(data_dir=str(data_dir), report=False),
                     detector=serve_detector)
    with TestClient(app) as test_client:  # `with`: the workers run
        yield test_client


def app_client(serve_detector, tmp_path, **settings) -> TestClient:
    """A client of a fresh app (no `with`: its workers never start, jobs stay queued)."""
    config = ServeConfig(data_dir=str(tmp_path), report=False, **settings)
    return TestClient(create_app(config, detector=serve_detector))


def upload(client, name: str, data: bytes):
    return client.post("/api/v1/jobs", files={"file": (name, data)})


def test_video_job_gives_detect_schema_result(client, sample_media, data_dir):
    data = sample_media["single_face.mp4"].read_bytes()
    response = upload(client, "../../etc/<b>clip&amp;.mp4", data)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["filename"] == "<b>clip&amp;.mp4"  # the path part of the name is dropped
    assert job["status"] in (QUEUED, RUNNING) and job["size_bytes"] == len(data)
    job = wait_finished(client, job["id"])
    assert job["status"] == DONE, job["error"]
    document = job["result"]
    assert document["schema_version"] == 1
    assert [m["name"] for m in document["models"]] == sorted(document["results"][0]["model_scores"])
    result = document["results"][0]
    assert result["path"] == "<b>clip&amp;.mp4" and result["faces"] >= 1
    assert result["verdict"] in ("REAL", "FAKE") and job["verdict"] == result["label"]
    assert job["score"] == pytest.approx(result["score"])
    assert len(result["tracks"][0]["frame_scores"]) == 3
    assert job["progress"]["done"] == job["progress"]["total"] == 3 * result["faces"]
    # the stored upload has a fixed name; nothing was written outside the job's folder
    folder = data_dir / "jobs" / job["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["input.mp4", "result.csv", "result.json"]

    downloaded = client.get(job["links"]["json"])
    assert downloaded.json() == document
    assert "attachment" in downloaded.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(client.get(job["links"]["csv"]).text)))
    assert rows[0]["verdict"] == result["verdict"] and rows[0]["path"] == "<b>clip&amp;.mp4"

    card = client.get(f"/api/v1/jobs/{job['id']}/card")
    assert card.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;clip&amp;amp;.mp4" in card.text and "<b>clip" not in card.text
    assert result["label"] in card.text

    listed = client.get("/api/v1/jobs").json()["jobs"]
    for query in ("limit=-1", "limit=5000", "offset=-2"):
        refused = client.get(f"/api/v1/jobs?{query}")
        assert refused.status_code == 422, query
        assert query.split("=")[0] in refused.text
    assert job["id"] in [j["id"] for j in listed]
    assert client.delete(f"/api/v1/jobs/{job['id']}").status_code == 204
    assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert not folder.exists()


@pytest.mark.parametrize("name,data,reason", [
    ("notes.mp4", b"these are not the frames you are looking for\n" * 50, "not a video or image"),
    ("empty.mp4", b"", "the file is empty"),
    ("script.jpg", b"#!/bin/sh\nrm -rf /\n", "not a video or image"),
])
def test_non_media_is_refused_by_content_and_recorded(client, name, data, reason):
    response = upload(client, name, data)
    assert response.status_code == 415
    assert reason in response.json()["detail"]
    job = response.json()["job"]
    assert job["status"] == FAILED and reason in job["error"] and job["filename"] == name
    assert client.get(f"/api/v1/jobs/{job['id']}").json()["status"] == FAILED


def test_image_named_like_a_video_is_scored_as_an_image(client, sample_media):
    response = upload(client, "photo.mp4", sample_media["single_face.jpg"].read_bytes())
    assert response.status_code == 201
    assert response.json()["kind"] == "image"
    job = wait_finished(client, response.json()["id"])
    assert job["status"] == DONE and job["result"]["results"][0]["kind"] == "image"


def test_no_face_and_corrupt_videos_fail_with_reasons(client, sample_media):
    no_face = wait_finished(client, upload(client, "cartoon.mp4",
                                           sample_media["no_face.mp4"].read_bytes()).json()["id"])
    assert no_face["status"] == FAILED and no_face["verdict"] == "NO_FACE"
    assert no_face["error"].startswith("no_face: no face found")
    data = sample_media["single_face.mp4"].read_bytes()
    corrupt = wait_finished(client, upload(client, "cut.mp4", data[: len(data) // 3]).json()["id"])
    assert corrupt["status"] == FAILED and corrupt["verdict"] == "ERROR"
    assert corrupt["error"] and corrupt["result"]["results"][0]["error"] == corrupt["error"]
    assert client.get("/api/v1/health").json()["status"] == "ok"  # the server carries on


def test_too_large_is_413_by_header_and_by_count(serve_detector, tmp_path):
    client = app_client(serve_detector, tmp_path, max_upload_mb=0.01)
    declared = client.post("/api/v1/jobs", content=b"x" * 100,
                           headers={"content-length": str(10**9),
                                    "content-type": "multipart/form-data; boundary=b"})
    assert declared.status_code == 413 and "too large" in declared.json()["detail"]

    def chunks():  # no Content-Length: only the streamed count can stop it
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'
        for _ in range(100):
            yield b"\0" * 4096
        yield b"\r\n--b--\r\n"

    streamed = client.post("/api/v1/jobs", content=chunks(),
                           headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    job = streamed.json()["job"]
    assert job["status"] == FAILED and job["filename"] == "big.mp4" and "10 MB" not in job["error"]
    assert not (tmp_path / "jobs" / job["id"]).exists()  # the partial upload is gone


def test_queue_full_is_503(serve_detector, tmp_path, sample_media):
    client = app_client(serve_detector, tmp_path, queue_size=1)
    data = sample_media["single_face.jpg"].read_bytes()
    assert upload(client, "a.jpg", data).status_code == 201
    full = upload(client, "b.jpg", data)
    assert full.status_code == 503 and "queue is full" in full.json()["detail"]
    assert full.headers["retry-after"]
    assert client.get("/api/v1/jobs").json()["jobs"][0]["queue_position"] == 1


def test_bad_requests_and_traversal_are_refused(client):
    assert client.post("/api/v1/jobs", data={"x": "1"}).status_code == 400
    assert client.post("/api/v1/jobs", content=b"{}",
                       headers={"content-type": "application/json"}).status_code == 400
    for path in ("/api/v1/jobs/..%2F..%2Fjobs.sqlite3", "/api/v1/jobs/nope",
                 f"/api/v1/jobs/{'0' * 32}/files/../result.json",
                 f"/api/v1/jobs/{'0' * 32}/result.json"):
        assert client.get(path).status_code == 404, path


FILE_PART = b'--b\r\nContent-Disposition: form-data; name="file"; filename="cut.mp4"\r\n\r\n'


def post_raw(client, body: bytes):
    """POST ``body`` as it is, framed by the boundary ``b``."""
    return client.post("/api/v1/jobs", content=body,
                       headers={"content-type": "multipart/form-data; boundary=b"})


def assert_nothing_held(client, tmp_path):
    """No job holds a queue slot and no upload is left on disk."""
    assert client.app.state.store.count(UPLOADING, QUEUED) == 0
    assert list((tmp_path / "jobs").iterdir()) == []


@pytest.mark.parametrize("body", [
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + b"x" * 5000
    + b'.mp4"\r\n\r\nabc\r\n--b--\r\n',
    b"--b\r\na part header without a colon\r\n\r\nabc\r\n--b--\r\n",
    b"--b garbage after the boundary\r\n\r\nabc\r\n--b--\r\n",
    b"garbage instead of a boundary" * 10,
], ids=["long-filename", "header-without-colon", "garbage-after-boundary", "no-boundary"])
def test_malformed_multipart_is_400_and_frees_its_queue_slot(serve_detector, tmp_path,
                                                             sample_media, body):
    client = app_client(serve_detector, tmp_path, queue_size=2)
    for _ in range(2 * 2):  # twice the queue: a slot held by any of them would show
        response = post_raw(client, body)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/json"
        assert "not a well-formed multipart/form-data body" in response.json()["detail"]
        assert "curl -F file=@clip.mp4" in response.json()["detail"]
    assert_nothing_held(client, tmp_path)
    assert upload(client, "a.jpg", sample_media["single_face.jpg"].read_bytes()).status_code == 201


def test_body_without_closing_boundary_is_refused_as_incomplete(serve_detector, tmp_path,
                                                                sample_media):
    client = app_client(serve_detector, tmp_path, queue_size=1)
    cut = FILE_PART + sample_media["single_face.mp4"].read_bytes()[:1000]
    for _ in range(2):
        response = post_raw(client, cut)
        assert response.status_code == 400, response.text
        assert response.json() == {"detail": "the upload ended before its closing boundary; "
                                             "send the whole file again"}
    assert_nothing_held(client, tmp_path)
    assert client.app.state.store.list() == []
    assert upload(client, "a.jpg", sample_media["single_face.jpg"].read_bytes()).status_code == 201


def test_unexpected_error_while_receiving_frees_the_queue_slot(serve_detector, tmp_path,
                                                               sample_media, monkeypatch):
    def broken_sniff(path):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("tfdeepfake.serve.app.sniff", broken_sniff)
    config = ServeConfig(data_dir=str(tmp_path), report=False, queue_size=1)
    client = TestClient(create_app(config, detector=serve_detector),
                        raise_server_exceptions=False)
    data = sample_media["single_face.jpg"].read_bytes()
    assert upload(client, "a.jpg", data).status_code == 500
    assert_nothing_held(client, tmp_path)
    job = client.get("/api/v1/jobs").json()["jobs"][0]
    assert job["status"] == FAILED and "internal error" in job["error"]
    monkeypatch.undo()
    assert upload(client, "b.jpg", data).status_code == 201


def test_report_files_stay_inside_the_report_folder(client, sample_media, data_dir):
    job = upload(client, "x.jpg", sample_media["single_face.jpg"].read_bytes()).json()
    wait_finished(client, job["id"])
    report = data_dir / "jobs" / job["id"] / "report"
    report.mkdir()
    (report / "scores.png").write_bytes(b"png")
    base = f"/api/v1/jobs/{job['id']}/files"
    assert client.get(f"{base}/report/scores.png").content == b"png"
    for bad in ("result.json", "report/../result.json", "report/%2e%2e/input.jpg", "input.jpg"):
        assert client.get(f"{base}/{bad}").status_code == 404, bad


def test_token_is_required_when_set(serve_detector, tmp_path):
    client = app_client(serve_detector, tmp_path, token="s3cret")
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.get("/api/v1/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/v1/jobs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    client.cookies.set("tfdeepfake_token", "s3cret")
    assert client.get("/api/v1/jobs").status_code == 200  # the page's <img>/<video> loads
    assert client.post("/api/v1/jobs", files={"file": ("a.jpg", b"x")}).status_code == 401
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/").status_code == 200


def test_page_and_openapi_are_served_offline(client):
    page = client.get("/").text
    assert 'id="file-input"' in page and "/static/app.js" in page
    assert "http://" not in page and "https://" not in page  # no CDN
    assert client.get("/static/app.js").status_code == 200
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/health"} <= set(paths)
    assert "multipart/form-data" in paths["/api/v1/jobs"]["post"]["requestBody"]["content"]


def test_expired_jobs_are_deleted_with_their_files(serve_detector, tmp_path, sample_media):
    config = ServeConfig(data_dir=str(tmp_path), report=False, keep_hours=1)
    with TestClient(create_app(config, detector=serve_detector)) as client:
        job = upload(client, "a.jpg", sample_media["single_face.jpg"].read_bytes()).json()
        wait_finished(client, job["id"])
        store = client.app.state.store
        assert remove_expired(config, store) == []  # finished just now: kept
        assert remove_expired(config, store, now=job["created_at"] + 2 * 3600) == [job["id"]]
        assert store.get(job["id"]) is None and not (tmp_path / "jobs" / job["id"]).exists()


def test_recover_requeues_or_fails_interrupted_jobs(tmp_path):
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    uploading = store.create("half.mp4")
    once = store.create("once.mp4", status=RUNNING, attempts=1)
    twice = store.create("twice.mp4", status=RUNNING, attempts=2)
    done = store.create("done.mp4", status=DONE)
    outcome = store.recover(max_attempts=2)
    assert outcome["requeued"] == [once["id"]]
    assert sorted(outcome["failed"]) == sorted([uploading["id"], twice["id"]])
    assert store.get(once["id"])["status"] == QUEUED
    assert "upload interrupted" in store.get(uploading["id"])["error"]
    assert "2 times" in store.get(twice["id"])["error"]
    assert store.get(done["id"])["status"] == DONE
    assert store.claim_next()["id"] == once["id"] and store.get(once["id"])["attempts"] == 2
    assert store.count(UPLOADING, QUEUED) == 0
    assert json.dumps(store.list())  # rows serialise as the API returns them


def test_pretrained_or_weights_not_both_and_unknown_bundle_named():
    from tfdeepfake.serve.app import load_detector

    with pytest.raises(ValueError, match="not both"):
        ServeConfig(weights="runs", pretrained="dfdc")
    with pytest.raises(ValueError, match="Known bundles"):
        load_detector(ServeConfig(pretrained="no-such-bundle"))


def test_limits_are_flags_with_defaults_that_reach_the_detector(tiny_runs):
    from tfdeepfake.cli import build_parser
    from tfdeepfake.cli.serve import config_from_args
    from tfdeepfake.serve.app import load_detector

    defaults = config_from_args(build_parser().parse_args(["serve"]))
    assert (defaults.max_upload_mb, defaults.max_frames, defaults.max_pixels,
            defaults.time_limit) == (500.0, 4096, 8192 * 8192, 600.0)
    args = build_parser().parse_args(["serve", "--weights", tiny_runs, "--models",
                                      "autoatt_b4_tiny", "--max-frames", "8", "--max-pixels",
                                      "1000", "--time-limit", "5", "--max-upload-mb", "2"])
    config = config_from_args(args)
    assert config.max_upload_bytes == 2 * 2**20
    detector = load_detector(config)
    assert (detector.max_frames, detector.max_pixels, detector.time_limit) == (8, 1000, 5.0)
    with pytest.raises(ValueError, match="time_limit"):
        config_from_args(build_parser().parse_args(["serve", "--time-limit", "0"]))


def test_uploads_follow_detects_rule_for_streams_gifs_and_audio(tmp_path):
    from tfdeepfake.serve.uploads import UploadError, sniff

    stream = bytearray(4 * 192)
    for start in range(4, len(stream), 192):
        stream[start] = 0x47  # AVCHD .mts: camcorder video
    (tmp_path / "cam.mts").write_bytes(bytes(stream))
    (tmp_path / "a.gif").write_bytes(b"GIF89a" + b"\x00" * 32)
    (tmp_path / "song.mp3").write_bytes(b"ID3\x04" + b"\x00" * 64)
    assert sniff(tmp_path / "cam.mts") == ("video", ".ts")
    assert sniff(tmp_path / "a.gif") == ("video", ".gif")
    with pytest.raises(UploadError, match="its content is audio \\(mp3\\) with no picture"):
        sniff(tmp_path / "song.mp3")


def test_submit_to_a_server_that_is_not_there_raises_job_error(tmp_path):
    import socket

    from tfdeepfake.serve import JobError
    from tfdeepfake.serve.client import submit

    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "clip.mp4").write_bytes(b"x")
    with pytest.raises(JobError, match=f"cannot reach the server at http://127.0.0.1:{port}"):
        submit(f"http://127.0.0.1:{port}", tmp_path / "clip.mp4")
