"""Load benchmark: N concurrent gradio_client users on every endpoint for a fixed time.

    python -m bench.load [--users 16] [--seconds 120] [--app-dir PATH]

Starts `python app.py` (embedded checkpoints only) on a free loopback port with a private temp
folder, then each user (its own session) loops over the endpoints (--endpoints; default all:
super-resolution in compare mode, DCGAN samples and arithmetic, AC-GAN, text to image,
inpainting (Telea + Navier-Stokes + the GAN on a painted example), day/night translation, a
held-out scene render and the HTML report export) until the time is up, each user starting at a
different one. Prints ok/failed and p50/p95 latency per endpoint, the server's resident memory
before, at its peak (sampled every 0.5 s) and after, and the temp folder's size before, at its
peak and after. Traffic goes to 127.0.0.1 only; the loop is bounded in time and in count.
--app-dir runs another checkout's app.py (e.g. main's code) with this benchmark.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from bench.startup import ROOT, running_app

ENDPOINTS = ["super_resolve", "dcgan_samples", "dcgan_arithmetic", "acgan_samples", "text2image",
             "inpaint", "translate", "translation_scene", "export_report"]  # fmt: skip


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def tree_mb(path: Path) -> float:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total / 2**20


def calls(handle_file) -> dict[str, tuple]:
    """The arguments of one call per endpoint (small, valid inputs from demos/examples)."""
    from demos import dcgan, inpainting, superres, translation
    from models.latent_arithmetic import PRESETS

    example = handle_file(str(superres.EXAMPLES_DIR / "astronaut_256.png"))
    embedded = next(k for k, v in superres.MODELS.items() if v == "embedded")
    painted = inpainting.load_example(inpainting.example_photos()[0])
    editor = {"background": handle_file(painted["background"]),
              "layers": [handle_file(p) for p in painted["layers"]], "composite": None}  # fmt: skip
    methods = [k for k, v in inpainting.METHODS.items()
               if v in (inpainting.TELEA, inpainting.NAVIER_STOKES, inpainting.GATED)]  # fmt: skip
    scene = sorted(translation.EXAMPLES_DIR.glob("*.png"))[0]
    return {
        "super_resolve": (example, superres.MODE_COMPARE, embedded),
        "dcgan_samples": (7,),
        "dcgan_arithmetic": (dcgan.MODE_PRESET, next(iter(PRESETS)), "", "", "", 3),
        "acgan_samples": ("All classes", 5, 20),
        "text2image": ("two red balls and a blue cube", 8, 0),
        "inpaint": (editor, methods, 1, 0, 50),
        "translate": (handle_file(str(scene)), translation.INPUT_AUTO, False),
        "translation_scene": (3, "night"),
        "export_report": (),
    }


class Sampler(threading.Thread):
    """Samples the server's RSS and the temp folder's size every `every` seconds."""

    def __init__(self, pid: int, folder: Path, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.folder, self.every = pid, folder, every
        self.peak_rss = self.peak_disk = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_rss = max(self.peak_rss, rss_mb(self.pid))
            self.peak_disk = max(self.peak_disk, tree_mb(self.folder))
            self.done.wait(self.every)


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--users", type=int, default=16)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--max-requests", type=int, default=5000)
    p.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated, cycled through by each user")
    p.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app.py is served")
    p.add_argument("--settle", type=float, default=5.0, help="seconds after the load before 'after'")
    args = p.parse_args(argv)

    from gradio_client import Client, handle_file

    table = calls(handle_file)
    endpoints = [e for e in args.endpoints.split(",") if e]
    unknown = set(endpoints) - set(table)
    if unknown:
        p.error(f"unknown endpoints {sorted(unknown)}; choose from {sorted(table)}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_load_"))
    env = {"GAN_GALLERY_SOURCE": "embedded", "TMPDIR": str(tmp)}
    try:
        with running_app(env, root=args.app_dir.resolve(), log=tmp.parent / f"{tmp.name}.log") as (server, url, _):
            warm = Client(url, verbose=False)
            for name in endpoints:
                warm.predict(*table[name], api_name=f"/{name}")
            time.sleep(1.0)
            rss_before, disk_before = rss_mb(server.pid), tree_mb(tmp)
            sampler = Sampler(server.pid, tmp)
            sampler.start()

            latencies: dict[str, list[float]] = defaultdict(list)
            failures: dict[str, list[str]] = defaultdict(list)
            lock = threading.Lock()
            deadline = time.monotonic() + args.seconds
            count = [0]

            def user(first: int) -> None:
                client = Client(url, verbose=False)
                k = first
                while time.monotonic() < deadline:
                    with lock:
                        if count[0] >= args.max_requests:
                            return
                        count[0] += 1
                    name = endpoints[k % len(endpoints)]
                    k += 1
                    t = time.perf_counter()
                    try:
                        client.predict(*table[name], api_name=f"/{name}")
                        with lock:
                            latencies[name].append(time.perf_counter() - t)
                    except Exception as exc:  # counted and reported, never hidden
                        with lock:
                            failures[name].append(f"{type(exc).__name__}: {exc}"[:200])

            start = time.monotonic()
            threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.monotonic() - start
            time.sleep(args.settle)
            sampler.done.set()
            sampler.join()
            rss_after, disk_after = rss_mb(server.pid), tree_mb(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp.parent / f"{tmp.name}.log").unlink(missing_ok=True)

    ok = sum(len(v) for v in latencies.values())
    failed = sum(len(v) for v in failures.values())
    print(f"{args.users} users, {wall:.0f} s, app {args.app_dir.resolve()}, {os.cpu_count()} CPUs "
          "(shared machine: other work may have run at the same time)")
    print(f"requests ok: {ok}  failed: {failed}  throughput: {ok / wall:.2f} req/s")
    print(f"{'endpoint':<20} {'ok':>5} {'failed':>6} {'p50 s':>7} {'p95 s':>7}")
    for name in endpoints:
        lat = latencies[name]
        print(f"{'/' + name:<20} {len(lat):>5} {len(failures[name]):>6} "
              f"{percentile(lat, 50):>7.2f} {percentile(lat, 95):>7.2f}")
    print(f"server RSS (MB): before {rss_before:.0f}, peak {max(sampler.peak_rss, rss_after):.0f}, "
          f"after {rss_after:.0f}")
    print(f"temp disk (MB): before {disk_before:.1f}, peak {max(sampler.peak_disk, disk_after):.1f}, "
          f"after {disk_after:.1f}")
    for name, msgs in failures.items():
        for f in msgs[:3]:
            print(f"  failure {name}: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
