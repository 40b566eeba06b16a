"""Load benchmark: N concurrent gradio_client users on the heavy endpoint for a fixed time.

    python -m eval.load [--users 16] [--seconds 60]

Starts `python app.py` on a free loopback port (embedded checkpoints only), then each user loops
over the heavy endpoints (--endpoints: /super_resolve in compare mode on an example photo,
/dcgan_samples, /dcgan_arithmetic, /acgan_samples, /text2image with 8 samples) until the time is up, each user starting at a
different one. Prints requests/s,
p50/p95 latency, failed requests, and the server's resident memory before and after. Traffic goes
to 127.0.0.1 only, and the loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

from eval.startup import running_app


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--users", type=int, default=16)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--max-requests", type=int, default=5000)
    p.add_argument("--endpoints", default="super_resolve,dcgan_samples,dcgan_arithmetic,acgan_samples,text2image",
                   help="comma-separated, cycled through by each user")
    args = p.parse_args(argv)

    from gradio_client import Client, handle_file

    from demos import dcgan, superres
    from models.latent_arithmetic import PRESETS

    with running_app({"GAN_GALLERY_SOURCE": "embedded"}) as (server, url, _):
        example = handle_file(str(superres.EXAMPLES_DIR / "astronaut_256.png"))
        embedded = next(k for k, v in superres.MODELS.items() if v == "embedded")
        calls = {
            "super_resolve": (example, superres.MODE_COMPARE, embedded),
            "dcgan_samples": (7,),
            "dcgan_arithmetic": (dcgan.MODE_PRESET, next(iter(PRESETS)), "", "", "", 3),
            "acgan_samples": ("All classes", 5, 20),
            "text2image": ("two red balls and a blue cube", 8, 0),
        }
        endpoints = [e for e in args.endpoints.split(",") if e]
        unknown = set(endpoints) - set(calls)
        if unknown:
            p.error(f"unknown endpoints {sorted(unknown)}; choose from {sorted(calls)}")
        warm = Client(url, verbose=False)
        for name in endpoints:
            warm.predict(*calls[name], api_name=f"/{name}")
        rss_before = rss_mb(server.pid)

        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def user(first: int) -> None:
            client = Client(url, verbose=False)
            k = first
            while time.monotonic() < deadline:
                with lock:
                    if len(latencies) + len(failures) >= args.max_requests:
                        return
                t = time.perf_counter()
                try:
                    name = endpoints[k % len(endpoints)]
                    k += 1
                    client.predict(*calls[name], api_name=f"/{name}")
                    with lock:
                        latencies.append(time.perf_counter() - t)
                except Exception as exc:  # counted and reported, never hidden
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}"[:200])

        start = time.monotonic()
        threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        rss_after = rss_mb(server.pid)

    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [float("nan")] * 19
    print(f"{args.users} users, {wall:.0f} s, endpoints {', '.join('/' + e for e in endpoints)} "
          "(super_resolve: compare mode, 256x256; concurrency_limit 2 per tab)")
    print(f"requests ok: {len(latencies)}  failed: {len(failures)}  "
          f"throughput: {len(latencies) / wall:.2f} req/s")
    print(f"latency p50: {statistics.median(latencies):.2f} s  p95: {q[18]:.2f} s")
    print(f"server RSS: {rss_before:.0f} MB before load, {rss_after:.0f} MB after")
    for f in failures[:5]:
        print("  failure:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
