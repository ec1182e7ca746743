"""A real `tfdeepfake serve` on 127.0.0.1: driven by headless Chromium (Selenium) through
the upload page, then loaded with 20 concurrent uploads, then sent an oversized body."""

import concurrent.futures
import os
import shutil
import socket

import httpx
import psutil
import pytest
from serve_helpers import Server, wait_for


@pytest.fixture(scope="module")
def server(tiny_runs, tmp_path_factory):
    running = Server(["--weights", tiny_runs, "--frames", "2", "--workers", "2",
                      "--max-upload-mb", "5"], tmp_path_factory.mktemp("served"))
    yield running
    running.stop()


def test_upload_in_the_browser_shows_the_verdict(server, browser, sample_media, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    hostile = "<img src=x onerror=document.title='owned'>.mp4"
    video = tmp_path / hostile
    shutil.copy(sample_media["single_face.mp4"], video)
    browser.set_window_size(1280, 1700)
    browser.get(server.url)
    assert browser.title.startswith("tfdeepfake")
    browser.find_element(By.ID, "file-input").send_keys(str(video))
    badge = WebDriverWait(browser, 180, 0.3).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#result .card .badge"))[0].text
    assert badge.split()[0] in ("REAL", "FAKE") and "%" in badge  # verdict · confidence
    text = lambda selector: browser.find_element(By.CSS_SELECTOR, selector).text  # noqa: E731
    assert text("#job-name") == text("#result .card .name") == hostile  # text, not HTML
    assert browser.title.startswith("tfdeepfake") and not browser.find_elements(
        By.CSS_SELECTOR, "img[src='x']")
    assert text("#job-status") == "done" and text("#upload-text") == "uploaded"
    scores = text("#result .scores")
    assert all(m in scores for m in ("autoatt_b4_tiny", "b7_ssim_tiny", "resnet_lstm_tiny"))
    assert "1 face" in scores
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result svg.chart polyline")) == 3
    videos = browser.find_elements(By.CSS_SELECTOR, "#result .videos video")
    assert videos, "no heatmap video on the page"
    WebDriverWait(browser, 30).until(lambda d: all(d.execute_script(
        "return arguments[0].readyState >= 2 && arguments[0].duration > 0", v) for v in videos))
    json_link = browser.find_element(By.ID, "download-json").get_attribute("href")
    assert httpx.get(json_link).json()["results"][0]["path"] == hostile
    history = WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#history tbody tr"))
    assert history[0].find_element(By.TAG_NAME, "a").text == hostile
    # kept in the test's folder, or where TFDEEPFAKE_SCREENSHOT says (docs/serve.png is one)
    screenshot = os.environ.get("TFDEEPFAKE_SCREENSHOT") or str(tmp_path / "serve_page.png")
    assert browser.save_screenshot(screenshot) and os.path.getsize(screenshot) > 10_000
    print(f"screenshot: {screenshot}")

    job_id = browser.current_url.split("job=")[1]
    browser.find_element(By.ID, "delete-job").click()
    wait_for(lambda: httpx.get(f"{server.url}/api/v1/jobs/{job_id}").status_code == 404,
             10, "the deleted job to disappear")
    assert not browser.find_element(By.ID, "job").is_displayed()


@pytest.mark.slow
def test_twenty_concurrent_uploads_all_get_a_job_and_a_result(server, sample_media):
    face = sample_media["single_face.jpg"].read_bytes()
    clip = sample_media["single_face.mp4"].read_bytes()
    uploads = [(f"face{i}.jpg", face, "done") for i in range(8)]
    uploads += [(f"clip{i}.mp4", clip, "done") for i in range(2)]
    uploads += [(f"text{i}.mp4", b"not a video\n" * 100, "refused") for i in range(4)]
    uploads += [(f"empty{i}.png", b"", "refused") for i in range(2)]
    uploads += [(f"cut{i}.mp4", clip[: len(clip) // 4], "failed") for i in range(2)]
    uploads += [(f"cartoon{i}.mp4", sample_media["no_face.mp4"].read_bytes(), "failed")
                for i in range(2)]
    process = psutil.Process(server.process.pid)
    baseline = process.memory_info().rss
    peak = [baseline]

    def post(item):
        name, data, _ = item
        response = httpx.post(f"{server.url}/api/v1/jobs", files={"file": (name, data)},
                              timeout=60)
        peak[0] = max(peak[0], process.memory_info().rss)
        return response

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(post, uploads))
    jobs = {}
    for (name, _, expected), response in zip(uploads, responses):
        assert response.status_code == (415 if expected == "refused" else 201), response.text
        job = response.json() if response.status_code == 201 else response.json()["job"]
        jobs[job["id"]] = (name, expected)
    assert len(jobs) == 20

    def all_finished():
        peak[0] = max(peak[0], process.memory_info().rss)
        listed = {j["id"]: j for j in httpx.get(f"{server.url}/api/v1/jobs").json()["jobs"]}
        mine = [listed[i] for i in jobs]
        return mine if all(j["status"] in ("done", "failed") for j in mine) else None

    finished = wait_for(all_finished, 240, "the 20 jobs to finish", every=0.5)
    for job in finished:
        name, expected = jobs[job["id"]]
        assert job["filename"] == name
        assert job["status"] == ("done" if expected == "done" else "failed"), job
        assert (job["error"] is None) == (expected == "done")
    grown = (peak[0] - baseline) / 2**20
    print(f"server RSS: {baseline / 2**20:.0f} MiB at rest, peak {peak[0] / 2**20:.0f} MiB")
    assert grown < 1536, f"server memory grew by {grown:.0f} MiB under 20 uploads"
    assert httpx.get(f"{server.url}/api/v1/health").json()["queued"] == 0


def test_oversized_body_is_refused_before_it_is_read(server):
    """10 GB declared, 1 MiB sent: the 413 arrives although the body never does."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: 10000000000\r\n\r\n" + b"\0" * 2**20)
        reply = b""
        while b"too large" not in reply and (chunk := sock.recv(4096)):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"too large" in reply
    assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
