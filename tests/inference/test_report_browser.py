"""detect's report opened in real headless Chromium: every heatmap <video> loads and plays
(H.264), the summary and cards read at laptop and phone widths without sideways scrolling.
Screenshots are kept under the test's tmp dir (their paths are printed)."""

from tfdeepfake.inference.report import write_index


def test_report_plays_in_chromium_at_laptop_and_phone_width(
    detector, sample_media, tmp_path, browser
):
    from selenium.webdriver.support.ui import WebDriverWait

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    report = tmp_path / "report"
    inputs = [str(sample_media["single_face.mp4"]), str(sample_media["no_face.mp4"]), str(empty)]
    results = detector.predict(inputs, report_dir=str(report))
    index = write_index(results, str(report), detector.run_info()["models"], detector.threshold)

    scored = results[0]
    assert scored.report["thumbnail"].endswith("face.jpg")
    # the whole clip at its own frame rate, not the 4 sampled frames
    import imageio_ffmpeg

    for name in detector.model_names:
        frames, _ = imageio_ffmpeg.count_frames_and_secs(scored.report[f"heatmap_{name}"])
        assert frames == scored.media["frame_count"]

    browser.set_window_size(1280, 900)
    browser.get(f"file://{index}")
    videos = len(detector.model_names)
    state = """return [...document.querySelectorAll('video')].map(
        v => [v.readyState, v.duration, v.videoWidth, v.error && v.error.code])"""
    WebDriverWait(browser, 60).until(
        lambda d: len(d.execute_script(state)) == videos
        and all(r >= 2 for r, *_ in d.execute_script(state)))
    for ready, duration, width, error in browser.execute_script(state):
        assert ready >= 2 and duration > 0 and width > 0 and error is None
    counts = [e.text for e in browser.find_elements("css selector", ".count")]
    verdict = results[0].verdict
    assert counts == [f"{int(v == verdict)}{v}" for v in ("FAKE", "REAL")] + ["1NO_FACE", "1ERROR"]
    text = browser.find_element("tag name", "body").text
    assert "What to do" in text  # the errors in words
    for width in (1280, 390):
        browser.set_window_size(width, 900)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the report scrolls sideways by {overflow} px at {width} px"
        shot = tmp_path / f"report_{width}px.png"
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        assert shot.stat().st_size > 10_000
