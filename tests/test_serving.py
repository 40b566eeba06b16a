"""Fair sharing and bounded resources (#22 F2, F8, F9): the app's queue and body limits, as served
by app.serve, on a tiny app (the real tabs are exercised in test_app and bench.reliability)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

import gradio as gr
import httpx
import pytest
from gradio_client import Client

import app
from demos import common, serving


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


release = threading.Event()


def slow(x: float) -> float:
    release.wait(30)
    return x


def fast(x: float) -> float:
    return x + 1


@pytest.fixture(scope="module")
def served():
    with gr.Blocks() as demo:
        x, y = gr.Number(), gr.Number()
        gr.Button("slow").click(slow, x, y, api_name="slow", concurrency_limit=1, concurrency_id="slow")
        gr.Button("fast").click(fast, x, y, api_name="fast", concurrency_id="fast")
    port = free_port()
    app.serve(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    fns = {fn.api_name: i for i, fn in demo.fns.items()}
    try:
        yield f"http://127.0.0.1:{port}", fns
    finally:
        release.set()
        demo.close()


def join(url: str, fn_index: int, session: str, data=(1,)) -> int:
    body = {"data": list(data), "fn_index": fn_index, "session_hash": session, "event_data": None,
            "trigger_id": None}  # fmt: skip
    return httpx.post(f"{url}/gradio_api/queue/join", json=body, timeout=30).status_code


def test_one_session_cannot_fill_the_queue_and_others_are_still_served(served):
    """F2: one session flooding a slow event holds only PER_SESSION_JOBS places; a second session
    is admitted to that event and served on another, at once."""
    url, fns = served
    release.clear()
    flooder = uuid.uuid4().hex
    statuses = [join(url, fns["slow"], flooder) for _ in range(20)]
    n = serving.PER_SESSION_JOBS
    assert statuses[: n + 3] == [200] * n + [503] * 3  # "queue full" for that session only
    assert statuses.count(503) >= 20 - n - 2  # (a place freed by gradio meanwhile is taken again)
    assert join(url, fns["slow"], uuid.uuid4().hex) == 200  # another session still gets a place
    assert Client(url, verbose=False).predict(2, api_name="/fast") == 3  # and is served meanwhile
    release.set()


def test_one_event_cannot_take_every_place_in_the_queue(served):
    """Many sessions on one event: at most PER_EVENT_WAITING wait; other events are admitted."""
    url, fns = served
    release.clear()
    try:
        statuses = [join(url, fns["slow"], uuid.uuid4().hex) for _ in range(serving.PER_EVENT_WAITING + 6)]
        assert statuses.count(503) >= 4  # capped near PER_EVENT_WAITING waiting (+1 running)
        assert statuses.count(200) <= serving.PER_EVENT_WAITING + 2
        assert join(url, fns["fast"], uuid.uuid4().hex) == 200
    finally:
        release.set()


def test_a_json_body_over_the_limit_is_refused_before_it_is_read(served):
    """F8: a 250 MB data: URL was read and decoded; now anything over 8 MB gets 413."""
    url, fns = served
    big = json.dumps({"data": ["data:image/png;base64," + "A" * (serving.JSON_BODY_BYTES + 10)],
                      "fn_index": fns["fast"], "session_hash": "x"})  # fmt: skip
    r = httpx.post(f"{url}/gradio_api/queue/join", content=big, headers={"content-type": "application/json"},
                   timeout=30)  # fmt: skip
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams in
        yield b'{"data": ["'
        for _ in range(serving.JSON_BODY_BYTES // 2**20 + 2):
            yield b"A" * 2**20

    try:
        status = httpx.post(f"{url}/gradio_api/queue/join", content=chunks(), timeout=30).status_code
    except httpx.HTTPError:  # the server may close the connection before the client finishes
        status = 413
    assert status == 413
    assert join(url, fns["fast"], uuid.uuid4().hex) == 200  # normal calls unaffected


def test_a_multi_file_upload_over_the_limit_is_refused(served, tmp_path):
    """F8: ten 20 MB files in one upload request were stored (213 MB)."""
    url, _ = served
    part = os.urandom(serving.UPLOAD_BODY_BYTES // 8)
    files = [("files", (f"f{i}.png", part, "image/png")) for i in range(10)]
    try:
        status = httpx.post(f"{url}/gradio_api/upload", files=files, timeout=60).status_code
    except httpx.HTTPError:
        status = 413
    assert status == 413
    ok = httpx.post(f"{url}/gradio_api/upload", files=[("files", ("a.png", b"x" * 1000, "image/png"))], timeout=30)
    assert ok.status_code == 200


def test_outputs_go_to_one_cache_pruned_by_age_and_size(monkeypatch, tmp_path):
    """F9: one temp folder per request, never removed; now one output cache, pruned."""
    from PIL import Image

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    path = common.save_temp_png(Image.new("RGB", (8, 8)), "t_", "x.png")
    assert path.startswith(str(tmp_path / "gan_gallery_outputs"))
    root = common.output_root()
    now = time.time()
    for name, age, size in [("old", 3600, 10), ("big1", 300, 600), ("big2", 200, 600), ("new", 5, 600)]:
        d = root / name
        d.mkdir()
        (d / "f.bin").write_bytes(b"x" * size)
        os.utime(d / "f.bin", (now - age, now - age))
        os.utime(d, (now - age, now - age))
    removed, kept = common.prune_outputs(root, max_age_s=900, max_bytes=1500, min_age_s=60, now=now)
    left = sorted(p.name for p in root.iterdir())
    assert "old" not in left  # too old
    assert "big1" not in left  # the oldest of the rest, removed to fit in 1,500 bytes
    assert {"big2", "new"} <= set(left) and kept <= 1500 + 200
    removed, kept = common.prune_outputs(root, max_age_s=900, max_bytes=10, min_age_s=60, now=now)
    assert "new" in {p.name for p in root.iterdir()}  # never younger than min_age_s


def test_the_tabs_share_one_concurrency_group_sized_to_the_cores():
    """#21: per-tab groups of 2 let 10 jobs compute at once on 2 cores; the tabs' events now share
    CPU_GROUP (2 at a time in all), single-slot groups keep theirs."""
    gate = threading.Event()

    def held(x: float) -> float:
        gate.wait(30)
        return x

    with gr.Blocks() as demo:
        x, y = gr.Number(), gr.Number()
        gr.Button("sr").click(held, x, y, api_name="sr", concurrency_limit=2, concurrency_id="superres")
        gr.Button("dc").click(held, x, y, api_name="dc", concurrency_limit=2, concurrency_id="dcgan")
        gr.Button("report").click(held, x, y, api_name="report", concurrency_limit=1, concurrency_id="report")
    port = free_port()
    app.serve(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}"
    fns = {fn.api_name: i for i, fn in demo.fns.items()}
    assert {fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in demo.fns.values()} == {
        "sr": (serving.CPU_GROUP, serving.CPU_JOBS), "dc": (serving.CPU_GROUP, serving.CPU_JOBS),
        "report": ("report", 1)}  # fmt: skip
    try:
        for name in ("sr", "dc", "sr", "dc", "report"):
            assert join(url, fns[name], uuid.uuid4().hex) == 200
        queue = demo._queue
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            running = [e for job in queue.active_jobs if job for e in job]
            if len(running) >= 3:
                break
            time.sleep(0.1)
        by_group = [e.concurrency_id for e in running]
        assert by_group.count(serving.CPU_GROUP) == serving.CPU_JOBS  # 2 of the 4 tab jobs run
        assert by_group.count("report") == 1
        assert len(queue.event_queue_per_concurrency_id[serving.CPU_GROUP].queue) == 2  # the others wait
    finally:
        gate.set()
        demo.close()


def test_image_cache_never_truncates_a_file_being_read(tmp_path):
    """Identical image outputs share one cache path; with serving.atomic_image_cache a second
    write neither rewrites nor truncates it, so a reader always gets the whole file."""
    import numpy as np
    from gradio import processing_utils
    from PIL import Image

    original = processing_utils.save_pil_to_cache
    try:
        serving.atomic_image_cache()
        assert serving.atomic_image_cache() is False  # once only
        image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8))
        path = processing_utils.save_pil_to_cache(image, str(tmp_path))
        whole, inode = os.path.getsize(path), os.stat(path).st_ino
        assert whole > 1000 and processing_utils.save_img_array_to_cache(np.asarray(image), str(tmp_path)) == path
        stop, sizes = threading.Event(), []

        def write():
            while not stop.is_set():
                processing_utils.save_pil_to_cache(image, str(tmp_path))

        writers = [threading.Thread(target=write) for _ in range(3)]
        for w in writers:
            w.start()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            with open(path, "rb") as f:
                sizes.append(len(f.read()))
        stop.set()
        for w in writers:
            w.join()
        assert len(sizes) > 10 and set(sizes) == {whole}
        assert os.stat(path).st_ino == inode  # never replaced: the existing file already held these bytes
        assert not [p for p in os.listdir(os.path.dirname(path)) if p.startswith(".")]  # no staging files left
        # the same file as gradio's own function writes, at the same place in the cache
        theirs = original(image, str(tmp_path / "gradio"))
        assert os.path.relpath(theirs, tmp_path / "gradio") == os.path.relpath(path, tmp_path)
        assert open(theirs, "rb").read() == open(path, "rb").read()
    finally:
        processing_utils.save_pil_to_cache = original
