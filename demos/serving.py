"""How the app is served so that no user can lock others out or exhaust the machine: a request
body cap (an ASGI middleware, before anything is read into memory) and a fair queue (per-session
and per-event caps on queued jobs). app.py installs both; the tabs' concurrency limits are on
their events.

Why our own: as of gradio 6.31, `queue(max_size=...)` caps the whole queue and
`concurrency_limit` caps how many jobs of an event run at once, but nothing caps how many places
one session holds, or how many jobs one event may queue, so one client could fill the whole
queue with cheap calls (issue #22, F2). `launch(max_file_size=...)` caps each uploaded file, not
a JSON body (a data: URL) nor the total of a multi-file upload (F8).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import gradio as gr

logger = logging.getLogger(__name__)

MB = 1024 * 1024
JSON_BODY_BYTES = 8 * MB  # API calls; images travel through /upload (a pasted data: URL up to ~6 MB)
UPLOAD_BODY_BYTES = 80 * MB  # one upload request: an editor's photo + composite + layer at 25 MB each
PER_SESSION_JOBS = 3  # queued + running jobs one session may hold
PER_EVENT_WAITING = 16  # jobs waiting per event (one button's function), all sessions together
PER_GROUP_WAITING = 48  # jobs waiting per concurrency group (CPU_GROUP: every tab together)
QUEUE_MAX_SIZE = 64  # the whole queue
# The tabs' model work shares one concurrency group sized to the machine: two jobs compute at once
# (one per core; torch's 2 threads each), whichever tab they come from. Per-tab groups of 2 ran up
# to 10 jobs and 20 busy threads on 2 cores at once, and every one of them slowed down (issue #21:
# p95 68 s for 16 users). Single-slot groups (Deep Image Prior's lock, the report, re-runs) keep theirs.
CPU_GROUP = "cpu"
CPU_JOBS = 2
TAB_GROUPS = ("superres", "dcgan", "acgan", "text2image", "inpainting", "translation", "community")


class BodyLimit:
    """ASGI middleware: refuse a request body over its limit with 413, from Content-Length when the
    client sends one, else by counting the bytes as they stream in (chunked bodies), so an
    oversized body is never read whole. Upload requests (…/upload) get `upload_bytes`, every other
    request `json_bytes`."""

    def __init__(self, app, json_bytes: int = JSON_BODY_BYTES, upload_bytes: int = UPLOAD_BODY_BYTES):
        self.app, self.json_bytes, self.upload_bytes = app, json_bytes, upload_bytes

    def limit_for(self, path: str) -> int:
        return self.upload_bytes if path.rstrip("/").endswith("/upload") else self.json_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._refuse(send, limit)
            return
        received, over, started = 0, False, False

        async def counted_receive():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True  # the app sees the client go away; it never gets the rest
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if over and not started:
                return  # the app's answer to a cut-off body is replaced by ours
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send, limit: int) -> None:
        body = json.dumps({"detail": f"Request body too large: the limit is {limit // MB} MB for this "
                                     "route. Upload files through the app's upload button."}).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def body_limit_middleware() -> list:
    """For launch(app_kwargs={"middleware": ...}): FastAPI builds it into the app's stack."""
    from starlette.middleware import Middleware

    return [Middleware(BodyLimit)]


def session_jobs(queue, session_hash: str) -> int:
    """Jobs of a session in gradio's queue: waiting (per concurrency group) plus running."""
    waiting = [e for group in queue.event_queue_per_concurrency_id.values() for e in group.queue]
    running = [e for job in queue.active_jobs if job for e in job]
    return sum(e.session_hash == session_hash for e in waiting + running)


def share_cpu(demo: gr.Blocks, limit: int = CPU_JOBS, groups: tuple[str, ...] = TAB_GROUPS) -> list[str]:
    """Move every event of the tabs' concurrency groups (`groups`) into CPU_GROUP, `limit` jobs at
    a time, before launch (gradio builds its queues from the events at the first join). Returns
    the api names (or function names) moved."""
    moved = []
    for fn in demo.fns.values():
        if fn.concurrency_id in groups:
            fn.concurrency_id, fn.concurrency_limit = CPU_GROUP, limit
            moved.append(fn.api_name or fn.name)
    return moved


def install_fair_queue(demo: gr.Blocks, per_session: int = PER_SESSION_JOBS,
                       per_event: int = PER_EVENT_WAITING, per_group: int = PER_GROUP_WAITING) -> None:  # fmt: skip
    """Wrap the queue's join (after demo.queue()): a session holding `per_session` jobs, an event
    with `per_event` jobs waiting, or a concurrency group with `per_group` waiting, gets "queue
    full" (HTTP 503) for that request only; everyone else is still admitted. Keyed by the session
    hash every client sends with a join."""
    queue = demo._queue
    push: Callable[..., Awaitable] = queue.push
    lock = asyncio.Lock()  # checks and admissions in order, so two joins cannot both slip in

    async def fair_push(body, request, username):
        async with lock:
            fn = demo.fns.get(body.fn_index) if body.fn_index is not None else None
            if body.session_hash and session_jobs(queue, body.session_hash) >= per_session:
                return (False, f"You already have {per_session} requests queued or running: wait for "
                               "one to finish (or cancel it), then try again.", "queue_full")  # fmt: skip
            group = queue.event_queue_per_concurrency_id.get(fn.concurrency_id) if fn else None
            waiting = [e for e in group.queue if e.fn is fn] if group is not None else []
            if group is not None and (len(waiting) >= per_event or len(group.queue) >= per_group):
                return (False, f"This tab is busy ({len(waiting)} requests waiting): try again in "
                               "a minute.", "queue_full")  # fmt: skip
            return await push(body, request, username)

    queue.push = fair_push


def atomic_image_cache() -> bool:
    """Make gradio's image cache safe for identical results served at once (returns True when it
    patched, False when already patched).

    gradio 6.31 writes every image output (gr.Image, gr.Gallery: PIL or numpy values) to
    `<cache>/<hash of its bytes>/image.webp` with `Path.write_bytes`, i.e. truncate, then write, on
    every call. Two users who get the same image (a tab's default example, a seeded sample) share
    that path, so the second write truncates the file while the first user's browser is reading
    it: the load benchmark saw "peer closed connection … received 0 bytes, expected 3996" on 2 of
    391 requests. The folder is named by the hash of the bytes, so an existing file already holds
    them: this version writes only a missing file, under a temporary name renamed into place (as
    gradio's own save_file_to_cache does), and touches an existing one (delete_cache ages files by
    ctime)."""
    import os
    import tempfile
    from pathlib import Path

    from gradio import processing_utils

    if getattr(processing_utils.save_pil_to_cache, "atomic", False):
        return False

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:  # noqa: A002
        data = processing_utils.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / processing_utils.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        target = (folder / f"{name}.{format}").resolve()
        if target.exists():
            try:
                os.utime(target)
            except OSError:
                pass
            return str(target)
        fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(staging, target)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
        return str(target)

    save_pil_to_cache.atomic = True
    processing_utils.save_pil_to_cache = save_pil_to_cache  # save_img_array_to_cache calls it too
    return True
