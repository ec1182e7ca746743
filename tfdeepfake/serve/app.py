"""The web application: the upload page, the REST API (``/api/v1``, OpenAPI docs at
``/api/docs``) and the lifecycle of the workers. ``create_app`` builds it; uvicorn runs it."""

from __future__ import annotations

import contextlib
import json
import secrets
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import ClientDisconnect

from tfdeepfake.safeio import safe_name
from tfdeepfake.serve.config import ServeConfig
from tfdeepfake.serve.files import JOB_ID, JobFiles
from tfdeepfake.serve.store import FAILED, QUEUED, RUNNING, UPLOADING, JobStore
from tfdeepfake.serve.uploads import UploadError, check_content_length, receive_file, sniff
from tfdeepfake.serve.workers import WorkerPool, remove_expired
from tfdeepfake.version import __version__

API = "/api/v1"
TOKEN_COOKIE = "tfdeepfake_token"
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "a video or image (type sniffed from content)"}},
}}}}}


def load_detector(config: ServeConfig):
    """The one `Detector` all workers share, face detector included (built now, not lazily
    on two threads at once)."""
    from tfdeepfake.inference import Detector

    settings = {"models": config.models, "frames": config.frames,
                "threshold": config.threshold, "max_frames": config.max_frames,
                "max_pixels": config.max_pixels, "time_limit": config.time_limit}
    if config.pretrained:
        detector = Detector.from_pretrained(config.pretrained, **settings)
    else:
        detector = Detector(weights=config.weights, **settings)
    _ = detector.face_finder
    return detector


def create_app(config: ServeConfig | None = None, *, detector=None, **settings) -> FastAPI:
    """The server as an ASGI app.

    Args:
        config: a ``ServeConfig``; or pass its fields as keywords (``weights="runs/"``).
        detector: a ready `Detector` (default: one loaded from ``config``).

    Example:
        >>> app = create_app(weights="quickstart/runs", data_dir="serve-data")
        >>> app = create_app(pretrained="dfdc-lite")
        >>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    config = config or ServeConfig(**settings)
    detector = detector or load_detector(config)
    config.jobs_dir.mkdir(parents=True, exist_ok=True)
    store = JobStore(config.database_url)
    pool = WorkerPool(config, store, detector)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        for job_id in store.recover(config.max_attempts)["failed"]:
            JobFiles(config.jobs_dir, job_id).partial.unlink(missing_ok=True)
        if config.keep_hours > 0:
            remove_expired(config, store)
        pool.start()
        yield
        pool.stop()
        store.close()

    app = FastAPI(title="tfdeepfake", version=__version__, lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None, openapi_url=f"{API}/openapi.json",
                  description="Upload videos or images; get REAL/FAKE verdicts with "
                              "per-model and per-frame scores (detect's JSON schema).")
    app.state.config, app.state.store, app.state.pool = config, store, pool
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    pages = Environment(loader=PackageLoader("tfdeepfake.serve"),
                        autoescape=select_autoescape())

    def require_token(request: Request) -> None:
        """Bearer token on every API call when ``--token`` is set (a cookie is also taken
        for GET, so the page's <img>/<video> elements can load results)."""
        if not config.token:
            return
        header = request.headers.get("authorization", "")
        supplied = header[7:] if header[:7].lower() == "bearer " else ""
        if not supplied and request.method == "GET":
            supplied = request.cookies.get(TOKEN_COOKIE, "")
        if not secrets.compare_digest(supplied.encode(), config.token.encode()):
            raise HTTPException(401, "this server needs a token: send 'Authorization: Bearer "
                                     "<token>' (the token the server was started with)",
                                headers={"WWW-Authenticate": "Bearer"})

    def job_files(job_id: str) -> JobFiles:
        if not JOB_ID.match(job_id) or store.get(job_id) is None:
            raise HTTPException(404, f"no job {job_id!r} (finished jobs are deleted after "
                                     f"{config.keep_hours:g} hours)")
        return JobFiles(config.jobs_dir, job_id)

    def view(job: dict, with_result: bool = False) -> dict:
        link = f"{API}/jobs/{job['id']}"
        out = {**job, "queue_position": store.queue_position(job),
               "links": {"self": link, "json": f"{link}/result.json",
                         "csv": f"{link}/result.csv", "files": f"{link}/files/"}}
        if with_result:
            path = JobFiles(config.jobs_dir, job["id"]).json
            out["result"] = json.loads(path.read_text()) if path.is_file() else None
        return out

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return pages.get_template("index.html").render(
            version=__version__, models=detector.model_names,
            untrained=detector.untrained, max_upload_mb=config.max_upload_mb,
            token_required=bool(config.token), keep_hours=config.keep_hours)

    @app.get("/report.css", include_in_schema=False)
    def report_style() -> FileResponse:
        """The cards' style, shared with ``detect --report``'s page."""
        return FileResponse(Path(__file__).parents[1] / "templates" / "style.css",
                            media_type="text/css")

    @app.get(f"{API}/health", tags=["server"])
    def health() -> dict:
        """Liveness and load: models served, workers, jobs queued and running."""
        return {"status": "ok", "version": __version__,
                "models": detector.model_names, "untrained": detector.untrained,
                "workers": config.workers, "queued": store.count(QUEUED),
                "running": store.count(RUNNING), "queue_size": config.queue_size}

    api = APIRouter(prefix=API, dependencies=[Depends(require_token)], tags=["jobs"])

    @api.post("/jobs", status_code=201, openapi_extra=UPLOAD_BODY, responses={
        400: {"description": "not a complete, well-formed multipart form with a 'file' part"},
        413: {"description": "too large"}, 415: {"description": "not a video or image"},
        503: {"description": "queue full"}})
    async def create_job(request: Request):
        """Upload a video or image (multipart field ``file``); the job is queued for scoring.

        Refused uploads (413 too large, 415 not a video/image) are still recorded as failed
        jobs (returned under ``job``), so the history shows them; a 400 (malformed or
        incomplete body) leaves no job.
        """
        try:
            check_content_length(request.headers.get("content-length"), config.max_upload_bytes)
        except UploadError as err:  # recorded, but the body is never read
            job = store.create(filename="(not received)")
            return _refused(err, _fail(JobFiles(config.jobs_dir, job["id"]), job["id"], err,
                                       keep=err.status != 400))
        if store.count(QUEUED, UPLOADING) >= config.queue_size:
            return JSONResponse({"detail": f"the queue is full ({config.queue_size} jobs "
                                           "waiting); try again in a minute"},
                                status_code=503, headers={"Retry-After": "30"})
        job = store.create(filename="upload")
        files = JobFiles(config.jobs_dir, job["id"])
        try:
            size = await receive_file(
                request.headers.get("content-type"), request.stream(), files.partial,
                config.max_upload_bytes, lambda name: store.update(job["id"], filename=name))
            kind, suffix = sniff(files.partial)
        except UploadError as err:
            return _refused(err, _fail(files, job["id"], err, keep=err.status != 400))
        except ClientDisconnect:
            _fail(files, job["id"], UploadError(400, "upload interrupted: the connection "
                                                     "closed before the whole file arrived"))
            return Response(status_code=400)
        except BaseException:  # whatever went wrong, the job must not hold a queue slot
            _fail(files, job["id"], UploadError(500, "internal error while receiving the "
                                                     "upload; send it again"))
            raise
        files.partial.rename(files.input(suffix))
        store.update(job["id"], status=QUEUED, kind=kind, size_bytes=size, stage="queued")
        pool.wake()
        return JSONResponse(view(store.get(job["id"])), status_code=201)

    def _fail(files: JobFiles, job_id: str, err: UploadError, keep: bool = True):
        """Record a refused upload as a failed job (``keep``) or forget it; drop its file."""
        files.remove()
        if not keep:
            store.delete(job_id)
            return None
        store.finish(job_id, FAILED, error=str(err), stage="refused")
        return view(store.get(job_id))

    @api.get("/jobs")
    def list_jobs(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> dict:
        """Jobs, newest first (without results; fetch one job for its result); a limit
        outside 1..1000 or a negative offset gets 422 naming the parameter."""
        jobs = store.list(limit=limit, offset=offset)
        return {"jobs": [view(job) for job in jobs]}

    @api.get("/jobs/{job_id}")
    def get_job(job_id: str) -> dict:
        """Status, stage, progress, queue position and, once done, ``result``: the same
        document as ``tfdeepfake detect --json`` for this one input."""
        job_files(job_id)
        return view(store.get(job_id), with_result=True)

    @api.delete("/jobs/{job_id}", status_code=204)
    def delete_job(job_id: str) -> Response:
        """Delete a job: its row, upload and results (a running job is dropped when done)."""
        files = job_files(job_id)
        store.delete(job_id)
        files.remove()
        return Response(status_code=204)

    @api.get("/jobs/{job_id}/result.json")
    def result_json(job_id: str):
        """The result in detect's JSON schema, as a download."""
        return _download(job_id, "json", "application/json")

    @api.get("/jobs/{job_id}/result.csv")
    def result_csv(job_id: str):
        """The result as detect's CSV row, as a download."""
        return _download(job_id, "csv", "text/csv")

    def _download(job_id: str, what: str, media_type: str):
        files = job_files(job_id)
        path = getattr(files, what)
        if not path.is_file():
            raise HTTPException(404, f"job {job_id} has no result yet (see its status)")
        stem = safe_name(Path(store.get(job_id)["filename"]).stem, 60)
        return FileResponse(path, media_type=media_type, filename=f"{stem}.{what}")

    @api.get("/jobs/{job_id}/card", response_class=HTMLResponse)
    def result_card(job_id: str) -> str:
        """The result as an HTML fragment: the card of ``detect --report``'s page (the
        same template), with links to this job's report files."""
        from tfdeepfake.templates import render_card

        files = job_files(job_id)
        if not files.json.is_file():
            raise HTTPException(404, f"job {job_id} has no result yet (see its status)")
        document = json.loads(files.json.read_text())
        return render_card(document["results"][0], [m["name"] for m in document["models"]],
                           document["threshold"], url=lambda p: f"{API}/jobs/{job_id}/files/{p}")

    @api.get("/jobs/{job_id}/files/{relative:path}")
    def report_file(job_id: str, relative: str):
        """A report file of a job (its per-frame chart, heatmap videos)."""
        path = job_files(job_id).public_file(relative)
        if path is None:
            raise HTTPException(404, f"job {job_id} has no report file {relative!r}")
        return FileResponse(path)

    app.include_router(api)
    return app


def _refused(err: UploadError, job: dict | None) -> JSONResponse:
    body = {"detail": str(err)}
    if job is not None:
        body["job"] = job
    return JSONResponse(body, status_code=err.status)
