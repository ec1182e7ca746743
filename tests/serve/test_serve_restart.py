"""kill -9 in the middle of a job: on restart the job runs again, none is lost."""

import sqlite3

import httpx
from serve_helpers import wait_for


def test_jobs_survive_kill_9_mid_job(start_server, tiny_runs, sample_media, tmp_path):
    args = ["--weights", f"{tiny_runs}/autoatt_b4_tiny", "--frames", "2", "--workers", "1"]
    server = start_server(args, tmp_path)
    clip = sample_media["single_face.mp4"].read_bytes()
    ids = [httpx.post(f"{server.url}/api/v1/jobs", files={"file": (f"clip{i}.mp4", clip)},
                      timeout=60).json()["id"] for i in range(2)]

    def running_job():
        jobs = httpx.get(f"{server.url}/api/v1/jobs").json()["jobs"]
        return next((j["id"] for j in jobs if j["status"] == "running"), None)

    wait_for(running_job, 120, "a job to start running", every=0.05)
    server.kill()
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:
        rows = dict(db.execute("SELECT id, status FROM jobs").fetchall())
    assert sorted(rows) == sorted(ids) and "running" in rows.values()
    interrupted = [i for i, status in rows.items() if status == "running"]

    server = start_server(args, tmp_path)

    def all_done():
        jobs = {j["id"]: j for j in httpx.get(f"{server.url}/api/v1/jobs").json()["jobs"]}
        return jobs if all(jobs[i]["status"] in ("done", "failed") for i in ids) else None

    jobs = wait_for(all_done, 180, "every job to finish after the restart", every=0.5)
    assert sorted(jobs) == sorted(ids)  # nothing lost, nothing invented
    for job_id in ids:
        assert jobs[job_id]["status"] == "done", jobs[job_id]
        assert jobs[job_id]["attempts"] == (2 if job_id in interrupted else 1)
    result = httpx.get(f"{server.url}/api/v1/jobs/{interrupted[0]}").json()["result"]
    assert result["results"][0]["verdict"] in ("REAL", "FAKE")
