// The upload page: talks only to /api/v1 (the same API documented at /api/docs).
"use strict";
const API = "/api/v1";
const $ = (id) => document.getElementById(id);
let current = null;   // id of the job shown
let pollTimer = null;
let shown = null;     // id of the job whose card is on the page

function token() { return localStorage.getItem("tfdeepfake_token") || ""; }
function headers() { return token() ? { Authorization: "Bearer " + token() } : {}; }

async function api(path, options = {}) {
  const response = await fetch(API + path, { ...options, headers: headers() });
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw Object.assign(new Error(body.detail || response.statusText), { body });
  return body;
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;  // never innerHTML
  if (cls) node.className = cls;
  return node;
}

function upload(file) {
  $("upload-error").hidden = true;
  $("upload").hidden = false;
  $("upload-name").textContent = file.name;
  const form = new FormData();
  form.append("file", file);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", API + "/jobs");
  for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    $("upload-progress").value = (100 * e.loaded) / e.total;
    $("upload-text").textContent = `${(e.loaded / 1048576).toFixed(1)} of ${(e.total / 1048576).toFixed(1)} MB`;
  };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (err) { body = { detail: xhr.statusText }; }
    $("upload-text").textContent = xhr.status === 201 ? "uploaded" : "refused";
    if (xhr.status !== 201) showUploadError(body.detail || xhr.statusText);
    const job = xhr.status === 201 ? body : body.job;
    if (job) show(job.id);
    refreshHistory();
  };
  xhr.onerror = () => showUploadError("the upload failed: is the server running?");
  xhr.send(form);
}

function showUploadError(message) {
  $("upload-error").textContent = message;
  $("upload-error").hidden = false;
}

async function show(id) {
  current = id;
  location.hash = "job=" + id;
  clearTimeout(pollTimer);
  try { render(await api(`/jobs/${id}`)); }
  catch (err) { $("job").hidden = true; showUploadError(err.message); }
}

function render(job) {
  if (job.id !== current) return;
  $("job").hidden = false;
  $("job-name").textContent = job.filename;
  const status = $("job-status");
  status.textContent = job.status;
  status.className = "status " + job.status;
  $("job-stage").textContent = stageText(job);
  const progress = job.progress || {};
  const bar = $("job-progress");
  bar.hidden = job.status !== "running";
  bar.value = progress.total ? (100 * progress.done) / progress.total : 5;
  $("job-error").hidden = !job.error || Boolean(job.result);  // the card says it then
  $("job-error").textContent = job.error || "";
  const finished = job.status === "done" || job.status === "failed";
  for (const what of ["json", "csv"]) {
    const link = $("download-" + what);
    link.hidden = !(finished && job.result);
    link.href = job.links[what];
  }
  if (finished && job.result) {
    if (shown !== job.id) renderResult(job);
    shown = job.id;
  } else {
    $("result").hidden = true;
    shown = null;
  }
  if (!finished) pollTimer = setTimeout(() => show(job.id), 1000);
  else refreshHistory();
}

function stageText(job) {
  const p = job.progress || {};
  if (job.status === "queued") return `Waiting in the queue: position ${job.queue_position}.`;
  if (job.status === "running") {
    if (job.stage === "faces") return "Finding faces...";
    if (job.stage === "model") return `${p.faces} face track(s) found; models done: ${p.done} of ${p.total} (last: ${p.model}).`;
    if (job.stage === "report") return "Drawing the chart and the heatmap videos...";
    return "Starting...";
  }
  if (job.status === "uploading") return "Receiving the upload...";
  return job.status === "done" ? "Finished." : "Failed.";
}

async function renderResult(job) {
  // The card of `detect --report` (the same server-side template, HTML escaped there).
  const response = await fetch(`${API}/jobs/${job.id}/card`, { headers: headers() });
  if (!response.ok || job.id !== current) return;
  $("result").innerHTML = await response.text();
  $("result").hidden = false;
}

async function refreshHistory() {
  let jobs;
  try { jobs = (await api("/jobs?limit=50")).jobs; } catch (err) { return; }
  const body = $("history").tBodies[0];
  body.replaceChildren();
  for (const job of jobs) {
    const row = el("tr");
    row.dataset.id = job.id;
    const open = el("a", job.filename);
    open.href = "#job=" + job.id;
    open.onclick = (e) => { e.preventDefault(); show(job.id); };
    const name = el("td"); name.append(open);
    const remove = el("button", "delete", "danger small");
    remove.onclick = () => removeJob(job.id);
    const actions = el("td"); actions.append(remove);
    row.append(name, el("td", job.status, "status " + job.status), el("td", job.verdict || ""),
      el("td", job.score === null ? "" : job.score.toFixed(3)),
      el("td", new Date(job.created_at * 1000).toLocaleString()), actions);
    body.append(row);
  }
}

async function removeJob(id) {
  try { await api(`/jobs/${id}`, { method: "DELETE" }); } catch (err) { showUploadError(err.message); }
  if (id === current) { current = null; $("job").hidden = true; clearTimeout(pollTimer); history.replaceState(null, "", "/"); }
  refreshHistory();
}

function setUp() {
  const zone = $("drop-zone");
  $("file-input").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]);
  });
  $("delete-job").onclick = () => current && removeJob(current);
  if ($("token-save")) {
    $("token-input").value = token();
    $("token-save").onclick = () => {
      const value = $("token-input").value.trim();
      localStorage.setItem("tfdeepfake_token", value);
      document.cookie = `tfdeepfake_token=${encodeURIComponent(value)}; path=/; SameSite=Strict`;
      refreshHistory();
    };
  }
  const match = location.hash.match(/job=([0-9a-f]{32})/);
  if (match) show(match[1]);
  refreshHistory();
  setInterval(refreshHistory, 5000);
}

setUp();
