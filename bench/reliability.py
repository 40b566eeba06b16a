"""Reliability replay: the attacks of issue #22 (and later ones) against a running app, pass/fail
per case.

    python -m bench.reliability [--app-dir PATH] [--only NAME,...] [--skip-slow]

Starts `python app.py` (embedded checkpoints, a private temp folder) on a free loopback port and
talks to it over raw HTTP the way a hostile or careless client would: its own session hashes,
hand-made JSON (NaN, 1e308, 2**63, null), oversized bodies, floods, cancels. Every case has its own
time limit and the whole run a deadline, so it stops by itself; the app is stopped at the end.
--app-dir replays against another checkout's app.py (e.g. main's code, for a before/after).
Exit status 1 if any case failed.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import struct
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from bench.load import rss_mb, tree_mb
from bench.startup import ROOT, running_app

DIP_LABEL = "Deep Image Prior (slow: fits a network to your photo)"
TELEA_LABEL = "Telea (OpenCV)"
CASE_SECONDS = 150.0  # the most any one case may take...
RERUN_SECONDS = 480.0  # ...but the F1 re-run: 33 s on the idle machine, minutes when it is shared


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming a huge size, with (almost) no pixel data."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def png(array: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=save.pop("format", "PNG"), **save)
    return buf.getvalue()


def photo(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256], -1).astype(np.uint8)


def centre_layer(h: int, w: int, alpha: int = 255) -> np.ndarray:
    layer = np.zeros((h, w, 4), np.uint8)
    layer[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = (255, 0, 170, alpha)
    return layer


class App:
    """Raw HTTP access to a running gradio app: uploads, queue joins and their results."""

    def __init__(self, url: str, pid: int, tmp: Path, root: Path = ROOT):
        self.url, self.pid, self.tmp, self.root = url.rstrip("/"), pid, tmp, root
        self.http = httpx.Client(base_url=self.url, timeout=60)
        config = self.http.get("/config").json()
        self.fn = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}

    def upload(self, name: str, data: bytes) -> dict:
        r = self.http.post("/gradio_api/upload", files=[("files", (name, data, "image/png"))])
        r.raise_for_status()
        return {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_rate(self, window: float = 0.5) -> float:
        """The server's CPU use over `window` seconds, in cores."""
        a = self.cpu_seconds()
        time.sleep(window)
        return (self.cpu_seconds() - a) / window

    def wait_idle(self, limit: float = 90.0) -> float:
        """Seconds until the server uses under 0.3 cores (or `limit`)."""
        start = time.monotonic()
        while time.monotonic() - start < limit and self.cpu_rate() > 0.3:
            pass
        return time.monotonic() - start


@dataclass
class Session:
    """One client session: joins the queue under its own session hash, reads its event stream."""

    app: App
    hash: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def join(self, api: str, data: list) -> tuple[int, str]:
        """(HTTP status, event id or refusal detail)."""
        body = json.dumps({"data": data, "fn_index": self.app.fn[api], "session_hash": self.hash,
                           "event_data": None, "trigger_id": None})  # fmt: skip
        r = self.app.http.post("/gradio_api/queue/join", content=body,
                               headers={"content-type": "application/json"})  # fmt: skip
        try:
            detail = r.json()
        except ValueError:
            detail = {"detail": r.text}
        return r.status_code, detail.get("event_id") or str(detail.get("detail"))

    def cancel(self, api: str, event_id: str) -> None:
        self.app.http.post("/gradio_api/cancel", json={"session_hash": self.hash, "event_id": event_id,
                                                       "fn_index": self.app.fn[api]})  # fmt: skip

    def results(self, event_ids: list[str], timeout: float, started: Callable[[str], None] | None = None
                ) -> dict[str, tuple[bool, object]]:  # fmt: skip
        """Read this session's stream until every event completed or `timeout` passed:
        {event id: (success, output data or error message)}."""
        done: dict[str, tuple[bool, object]] = {}
        deadline = time.monotonic() + timeout
        while len(done) < len(event_ids) and time.monotonic() < deadline:
            try:
                with self.app.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.hash},
                                          timeout=httpx.Timeout(5.0, read=20.0)) as r:  # fmt: skip
                    for line in r.iter_lines():
                        if time.monotonic() > deadline:
                            break
                        if not line.startswith("data:"):
                            continue
                        msg = json.loads(line[5:])
                        eid = msg.get("event_id")
                        if msg.get("msg") == "process_starts" and started:
                            started(eid)
                        if msg.get("msg") == "process_completed" and eid in event_ids:
                            out = msg.get("output") or {}
                            done[eid] = (bool(msg.get("success")), out.get("data") if msg.get("success")
                                         else out.get("error") or out)  # fmt: skip
                            if len(done) == len(event_ids):
                                break
                        if msg.get("msg") == "close_stream":
                            break
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ConnectError):
                continue
        return done

    def call(self, api: str, data: list, timeout: float = 60.0) -> tuple[str, object]:
        """("ok", data) | ("error", message) | ("refused", detail) | ("timeout", "")."""
        status, eid = self.join(api, data)
        if status != 200:
            return "refused", f"HTTP {status}: {eid}"
        got = self.results([eid], timeout)
        if eid not in got:
            self.cancel(api, eid)
            return "timeout", ""
        ok, out = got[eid]
        return ("ok" if ok else "error"), out


# --- the cases ---------------------------------------------------------------------------------


def _editor(app: App, photo_png: bytes, layers: list[bytes]) -> dict:
    return {"background": app.upload("photo.png", photo_png),
            "layers": [app.upload(f"layer{i}.png", b) for i, b in enumerate(layers)], "composite": None}  # fmt: skip


def _inpaint_args(app: App, fills=1, seed=0, iterations=50, methods=None, layers=None, photo_png=None):
    img = photo(96, 128)
    editor = _editor(app, photo_png or png(img), layers if layers is not None else [png(centre_layer(96, 128))])
    return [editor, methods or [TELEA_LABEL], fills, seed, iterations]


def _refused_clearly(outcome: tuple[str, object], *must: str, must_not: tuple[str, ...] = ()) -> tuple[bool, str]:
    kind, out = outcome
    text = str(out)
    ok = kind == "error" and all(m.lower() in text.lower() for m in must)
    ok = ok and not any(m.lower() in text.lower() for m in must_not)
    return ok, f"{kind}: {text[:160]}"


def case_f1_rerun(app: App) -> tuple[bool, str]:
    """F1: the Evaluation tab's re-run answers, and leaves no temp folder behind."""
    before = {p.name for p in app.tmp.iterdir()}
    kind, out = Session(app).call("rerun_superres", [], timeout=RERUN_SECONDS)
    left = [n for n in {p.name for p in app.tmp.iterdir()} - before if n.startswith("eval_")]
    return kind == "ok" and not left, f"{kind}: {str(out)[:120]}; new eval_ folders: {len(left)}"


def _submit(s: Session, api: str, args: list, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        status, eid = s.join(api, args)
        if status == 200:
            ids.append(eid)
    return ids


def case_f2_flood(app: App) -> tuple[bool, str]:
    """F2: one session sends 2 Deep Image Prior jobs (3,000 it.) and 64 Telea calls; a second
    session is still served, and the first holds only a few places."""
    a = Session(app)
    dip = _inpaint_args(app, methods=[DIP_LABEL], iterations=3000)
    telea = _inpaint_args(app)
    ids = [("inpaint", e) for e in _submit(a, "inpaint", dip, 2) + _submit(a, "inpaint", telea, 64)]
    refused = 66 - len(ids)
    b = Session(app)
    t = time.monotonic()
    kind, out = b.call("dcgan_samples", [3], timeout=120)
    served = time.monotonic() - t
    for api, eid in ids:
        a.cancel(api, eid)
    app.wait_idle()
    ok = kind == "ok" and refused > 0  # admitted ones are those that finished in between (Telea: ms)
    return ok, (f"flooder admitted {len(ids)} of 66 (refused {refused}); other session: {kind} after "
                f"{served:.1f} s")  # fmt: skip


def case_f2_cancel(app: App) -> tuple[bool, str]:
    """F2: cancelling a running Deep Image Prior stops the work within a second."""
    s = Session(app)
    status, eid = s.join("inpaint", _inpaint_args(app, methods=[DIP_LABEL], iterations=3000))
    if status != 200:
        return False, f"not admitted: {eid}"
    started = threading.Event()
    reader = threading.Thread(target=s.results, args=([eid], 40.0, lambda e: started.set()), daemon=True)
    reader.start()
    started.wait(30)
    time.sleep(4.0)  # Deep Image Prior is now fitting
    busy = app.cpu_rate()
    t = time.monotonic()
    s.cancel("inpaint", eid)
    stopped = app.wait_idle(60)
    return stopped <= 1.5 and busy > 0.3, (f"CPU {busy:.1f} cores while running; idle {stopped:.1f} s "
                                           f"after the cancel (request took {time.monotonic() - t:.1f} s)")  # fmt: skip


def case_dip_limit(app: App) -> tuple[bool, str]:
    """Deep Image Prior behind its own limit: a second run (another session) is told it is busy
    at once rather than sharing the 2 cores."""
    a, b = Session(app), Session(app)
    args = _inpaint_args(app, methods=[DIP_LABEL], iterations=3000)
    status, eid = a.join("inpaint", args)
    time.sleep(3.0)
    t = time.monotonic()
    kind, out = b.call("inpaint", args, timeout=20)
    waited = time.monotonic() - t
    if status == 200:
        a.cancel("inpaint", eid)
    app.wait_idle()
    text = str(out).lower()
    ok = kind == "error" and ("busy" in text or "already running" in text)
    return ok, f"second run: {kind} after {waited:.1f} s: {str(out)[:100]}"


def _f3(field_index: int, value, *must: str):
    def case(app: App) -> tuple[bool, str]:
        args = _inpaint_args(app)
        args[field_index] = value
        return _refused_clearly(Session(app).call("inpaint", args), *must,
                                must_not=("convert", "overflow", "long long"))  # fmt: skip

    return case


def case_f4_bomb_layer(app: App) -> tuple[bool, str]:
    """F4: a decompression bomb as the mask layer gets our message, not PIL's."""
    args = _inpaint_args(app, layers=[bomb_png(20000, 20000)])
    return _refused_clearly(Session(app).call("inpaint", args), "refused",
                            must_not=("DecompressionBomb", "DOS attack"))  # fmt: skip


def case_f5_exif(app: App) -> tuple[bool, str]:
    """F5: an EXIF-rotated photo (stored 128x96, orientation 6) with a mask drawn on its stored
    pixels is inpainted."""
    stored = photo(96, 128)
    exif = Image.Exif()
    exif[0x0112] = 6
    args = _inpaint_args(app, photo_png=png(stored, format="JPEG", exif=exif.tobytes()),
                         layers=[png(centre_layer(96, 128))])  # fmt: skip
    kind, out = Session(app).call("inpaint", args)
    return kind == "ok", f"{kind}: {str(out)[:160]}"


def case_f6_invisible(app: App) -> tuple[bool, str]:
    """F6: a layer with alpha 1/255 everywhere is invisible, so the mask is empty."""
    layer = np.zeros((96, 128, 4), np.uint8)
    layer[..., 3] = 1
    return _refused_clearly(Session(app).call("inpaint", _inpaint_args(app, layers=[png(layer)])), "empty")


def case_f8_json_body(app: App) -> tuple[bool, str]:
    """F8: a 120 MB JSON body (a data: URL) is refused before it is read; RSS stays put."""
    rss = rss_mb(app.pid)
    data_url = "data:image/png;base64," + base64.b64encode(os.urandom(90 * 2**20)).decode()
    body = json.dumps({"data": [{"url": data_url, "meta": {"_type": "gradio.FileData"}}, "x", "y"],
                       "fn_index": app.fn["super_resolve"], "session_hash": uuid.uuid4().hex[:12]})  # fmt: skip
    del data_url
    try:
        r = app.http.post("/gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
        status = r.status_code
    except httpx.HTTPError as exc:  # the server may close the connection mid-body
        status = type(exc).__name__
    del body
    time.sleep(1.0)
    grew = rss_mb(app.pid) - rss
    return status == 413 and grew < 50, f"answer {status}; server RSS +{grew:.0f} MB"


def case_f8_chunked(app: App) -> tuple[bool, str]:
    """F8: the same without a Content-Length (chunked): cut off while streaming."""
    rss = rss_mb(app.pid)

    def chunks():
        yield b'{"data": ["data:image/png;base64,'
        for _ in range(60):
            yield b"A" * 2**20

    try:
        r = app.http.post("/gradio_api/queue/join", content=chunks(), headers={"content-type": "application/json"})
        status = r.status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    time.sleep(1.0)
    grew = rss_mb(app.pid) - rss
    return status == 413 and grew < 30, f"answer {status}; server RSS +{grew:.0f} MB"


def case_f8_many_files(app: App) -> tuple[bool, str]:
    """F8: ten 20 MB files in one upload request are refused."""
    before = tree_mb(app.tmp)
    blob = os.urandom(20 * 2**20)
    try:
        r = app.http.post("/gradio_api/upload", files=[("files", (f"f{i}.png", blob, "image/png")) for i in range(10)])
        status = r.status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    stored = tree_mb(app.tmp) - before
    return status == 413 and stored < 30, f"answer {status}; {stored:.0f} MB stored"


def case_f9_temp_folders(app: App) -> tuple[bool, str]:
    """F9: 20 scene renders leave no new folders in the temp dir (outputs live in one cache)."""
    before = {p.name for p in app.tmp.iterdir()}
    s = Session(app)
    kinds = [s.call("translation_scene", [i, "day"])[0] for i in range(20)]
    new = {p.name for p in app.tmp.iterdir()} - before
    return kinds.count("ok") == 20 and len(new) <= 1, f"{kinds.count('ok')}/20 ok; {len(new)} new temp folders"


def case_f9_report(app: App) -> tuple[bool, str]:
    """F9: report exports are cached: three exports add at most one report's worth of disk."""
    s = Session(app)
    s.call("export_report", [], timeout=90)
    before = tree_mb(app.tmp)
    kinds = [s.call("export_report", [], timeout=90)[0] for _ in range(3)]
    grew = tree_mb(app.tmp) - before
    return kinds == ["ok"] * 3 and grew < 1.0, f"{kinds}; disk +{grew:.1f} MB for 3 more exports"


def case_radio_echo(app: App) -> tuple[bool, str]:
    """Minor: a 100 KB radio value is not echoed back."""
    args = [app.upload("a.png", png(photo(64, 64))), "x" * 100_000, "y"]
    kind, out = Session(app).call("super_resolve", args)
    return kind == "error" and len(str(out)) < 500, f"{kind}: message of {len(str(out)):,} chars"


def case_dropdown_echo(app: App) -> tuple[bool, str]:
    """Minor: a 100 KB dropdown value is not echoed back."""
    kind, out = Session(app).call("acgan_samples", ["z" * 100_000, 0, 4])
    return kind == "error" and len(str(out)) < 500, f"{kind}: message of {len(str(out)):,} chars"


def case_install_path(app: App) -> tuple[bool, str]:
    """Minor: a FileData naming a server file does not reveal the install path."""
    args = [{"path": "x.png", "meta": {"_type": "gradio.FileData"}}, "Upscale my image (x4)",
            "Trained here (embedded, small)"]  # fmt: skip
    kind, out = Session(app).call("super_resolve", args)
    leaked = str(app.root) in str(out) or str(app.tmp) in str(out)
    return kind == "error" and not leaked, f"{kind}: {str(out)[:160]}"


def _with_hub(value):
    def case(app: App) -> tuple[bool, str]:
        from demos import translation

        scene = sorted(translation.EXAMPLES_DIR.glob("*.png"))[0]
        args = [app.upload("scene.png", scene.read_bytes()), translation.INPUT_AUTO, value]
        kind, out = Session(app).call("translate", args)
        return kind == "error", f"{kind}: {str(out)[:120]}"

    return case


def case_bool_seed(app: App) -> tuple[bool, str]:
    """Own: a seed of true is not read as 1."""
    return _refused_clearly(Session(app).call("dcgan_samples", [True]), "seed")


def case_many_layers(app: App) -> tuple[bool, str]:
    """Own: 50 mask layers in one request are refused before decoding them all."""
    layer = png(centre_layer(96, 128))
    args = _inpaint_args(app, layers=[layer] * 50)
    return _refused_clearly(Session(app).call("inpaint", args), "layers")


def case_huge_method_list(app: App) -> tuple[bool, str]:
    """Own: 10,000 method names get a short refusal."""
    args = _inpaint_args(app, methods=["nope" * 10] * 10_000)
    kind, out = Session(app).call("inpaint", args)
    return kind == "error" and len(str(out)) < 500, f"{kind}: message of {len(str(out)):,} chars"


CASES: dict[str, Callable[[App], tuple[bool, str]]] = {
    "F1 re-run benchmark": case_f1_rerun,
    "F2 flood from one session": case_f2_flood,
    "F2 cancel Deep Image Prior": case_f2_cancel,
    "F2 Deep Image Prior limit": case_dip_limit,
    "F3 fills = NaN": _f3(2, float("nan"), "fills", "number"),
    "F3 iterations = NaN": _f3(4, float("nan"), "iterations", "number"),
    "F3 seed = 1e308": _f3(3, 1e308, "seed"),
    "F3 seed = 2**63": _f3(3, 2**63, "seed"),
    "F3 seed = null": _f3(3, None, "seed"),
    "F4 bomb as mask layer": case_f4_bomb_layer,
    "F5 EXIF photo, stored-orientation mask": case_f5_exif,
    "F6 invisible layer": case_f6_invisible,
    "F8 120 MB JSON body": case_f8_json_body,
    "F8 60 MB chunked body": case_f8_chunked,
    "F8 ten 20 MB files": case_f8_many_files,
    "F9 temp folders per request": case_f9_temp_folders,
    "F9 report export cached": case_f9_report,
    "minor radio echo": case_radio_echo,
    "minor dropdown echo": case_dropdown_echo,
    "minor install path": case_install_path,
    "minor with_hub = NaN": _with_hub(float("nan")),
    "minor with_hub = 'abc'": _with_hub("abc"),
    "own seed = true": case_bool_seed,
    "own 50 mask layers": case_many_layers,
    "own 10,000 method names": case_huge_method_list,
}
SLOW = {"F1 re-run benchmark"}


def run_case(fn: Callable[[App], tuple[bool, str]], app: App, limit: float) -> tuple[bool, str]:
    """A case in a thread, given up after `limit` seconds (counted as a failure)."""
    box: dict = {}

    def target():
        try:
            box["r"] = fn(app)
        except Exception as exc:  # a crash of the case is its failure
            box["r"] = (False, f"{type(exc).__name__}: {str(exc)[:160]}")

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(limit)
    return box.get("r", (False, f"no answer within {limit:.0f} s"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--app-dir", type=Path, default=ROOT)
    p.add_argument("--only", default="", help="comma-separated case names (substrings)")
    p.add_argument("--skip-slow", action="store_true", help="skip the F1 re-run (a minute of CPU)")
    p.add_argument("--deadline", type=float, default=1800.0, help="seconds for the whole run")
    args = p.parse_args(argv)
    wanted = [n for n in CASES if (not args.only or any(o.strip() in n for o in args.only.split(",")))
              and not (args.skip_slow and n in SLOW)]  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="bench_reliability_"))
    results: list[tuple[str, bool, str]] = []
    end = time.monotonic() + args.deadline
    try:
        with running_app({"GAN_GALLERY_SOURCE": "embedded", "TMPDIR": str(tmp)},
                         root=args.app_dir.resolve()) as (server, url, _):  # fmt: skip
            app = App(url, server.pid, tmp, args.app_dir.resolve())
            for name in wanted:
                left = end - time.monotonic()
                if left <= 0:
                    results.append((name, False, "not run: deadline"))
                    continue
                limit = (RERUN_SECONDS if name in SLOW else CASE_SECONDS) + 60
                ok, detail = run_case(CASES[name], app, min(limit, left))
                results.append((name, ok, detail))
                print(f"{'PASS' if ok else 'FAIL'}  {name:<40} {detail}", flush=True)
                if server.poll() is not None:
                    print("the app died", flush=True)
                    break
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(ok for _, ok, _ in results)
    print(f"{passed} of {len(results)} cases passed (app {args.app_dir.resolve()}; shared {os.cpu_count()}-CPU "
          "machine)")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
