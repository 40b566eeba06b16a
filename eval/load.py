"""Load benchmark: N concurrent gradio_client users on the heavy endpoint for a fixed time.

    python -m eval.load [--users 16] [--seconds 60]

Starts `python app.py` on a free loopback port (embedded checkpoints only), then each user loops
on /super_resolve (compare mode, an example photo) until the time is up. Prints requests/s,
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
    args = p.parse_args(argv)

    from gradio_client import Client, handle_file

    from demos import superres

    with running_app({"GAN_GALLERY_SOURCE": "embedded"}) as (server, url, _):
        example = handle_file(str(superres.EXAMPLES_DIR / "astronaut_256.png"))
        embedded = next(k for k, v in superres.MODELS.items() if v == "embedded")
        warm = Client(url, verbose=False)
        warm.predict(example, superres.MODE_COMPARE, embedded, api_name="/super_resolve")
        rss_before = rss_mb(server.pid)

        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def user() -> None:
            client = Client(url, verbose=False)
            while time.monotonic() < deadline:
                with lock:
                    if len(latencies) + len(failures) >= args.max_requests:
                        return
                t = time.perf_counter()
                try:
                    client.predict(example, superres.MODE_COMPARE, embedded,
                                   api_name="/super_resolve")  # fmt: skip
                    with lock:
                        latencies.append(time.perf_counter() - t)
                except Exception as exc:  # counted and reported, never hidden
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}"[:200])

        start = time.monotonic()
        threads = [threading.Thread(target=user) for _ in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        rss_after = rss_mb(server.pid)

    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [float("nan")] * 19
    print(f"{args.users} users, {wall:.0f} s, endpoint /super_resolve (compare mode, 256x256, "
          "bicubic + embedded SRResNet + SRGAN; concurrency_limit 2)")
    print(f"requests ok: {len(latencies)}  failed: {len(failures)}  "
          f"throughput: {len(latencies) / wall:.2f} req/s")
    print(f"latency p50: {statistics.median(latencies):.2f} s  p95: {q[18]:.2f} s")
    print(f"server RSS: {rss_before:.0f} MB before load, {rss_after:.0f} MB after")
    for f in failures[:5]:
        print("  failure:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
