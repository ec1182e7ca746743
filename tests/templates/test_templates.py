"""The shared report templates render from plain detect result dicts (what the web server
has), escape what users named, sort most suspicious first and say errors in words."""

from tfdeepfake.templates import render_card, render_report, suspicion_order

MODELS = ["autoatt_b4_tiny", "b7_ssim_tiny"]


def _result(path, verdict, score=None, **extra):
    base = {"path": path, "verdict": verdict, "label": verdict, "score": score,
            "confidence": None if score is None else max(score, 1 - score),
            "model_scores": {m: score for m in MODELS} if score is not None else {},
            "faces": 1, "frames_used": 2, "media": {"fps": 25.0}, "tracks": [], "report": {},
            "error": None}
    base.update(extra)
    return base


def test_card_shows_verdict_scores_chart_and_videos():
    track = {"track_id": 0, "frame_indices": [0, 25, 50], "score": 0.9,
             "frame_scores": {m: [0.8, 0.9, None] for m in MODELS}}
    result = _result("<clip>.mp4", "FAKE", 0.9123, tracks=[track], report={
        "thumbnail": "/r/001/face.jpg", "heatmap_b7_ssim_tiny": "/r/001/b7_ssim_tiny.mp4",
        "heatmap_autoatt_b4_tiny": "none: heatmaps need --runtime keras"})
    html = render_card(result, MODELS, 0.6415116735825795, url=lambda p: "media" + p)
    assert "&lt;clip&gt;.mp4" in html and "<clip>" not in html
    assert 'class="badge FAKE"' in html and "91.2%" in html
    assert "0.912" in html and "0.642" in html and "0.6415" not in html
    assert '<video src="media/r/001/b7_ssim_tiny.mp4"' in html
    assert 'src="media/r/001/face.jpg"' in html
    assert "heatmaps need --runtime keras" in html
    # one chart line per model, x in seconds: frame 50 at 25 fps is the 2.00 s end
    assert html.count("<polyline") == 2 and "1.00 s" in html


def test_report_summary_counts_and_order():
    results = [_result("a.mp4", "REAL", 0.2), _result("b.mp4", "ERROR",
               error="empty: the file has zero bytes"), _result("c.mp4", "FAKE", 0.7),
               _result("d.mp4", "FAKE", 0.95), _result("e.mp4", "NO_FACE",
               error="no_face: no face in 3 sampled frames")]
    assert [r["path"] for r in suspicion_order(results)] == [
        "d.mp4", "c.mp4", "a.mp4", "e.mp4", "b.mp4"]
    models = [{"name": m, "weights": f"runs/{m}/best.weights.h5", "trained": True}
              for m in MODELS]
    html = render_report(results, models, 0.5)
    for verdict, n in (("FAKE", 2), ("REAL", 1), ("NO_FACE", 1), ("ERROR", 1)):
        assert f'<span class="count {verdict}"><b>{n}</b>{verdict}</span>' in html
    assert "runs/b7_ssim_tiny/best.weights.h5" in html and "0.50" in html
    assert html.index("d.mp4") < html.index("c.mp4") < html.index("a.mp4") < html.index("b.mp4")
    assert "What to do: the file has zero bytes; re-download or re-copy it." in html
    assert "http://" not in html and "https://" not in html  # offline: nothing from a CDN
