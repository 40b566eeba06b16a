"""Startup benchmark: seconds from `python app.py` to the first HTTP 200, and the import time.

    python -m bench.startup [--runs 3]

Target (issue #21): `import app` under 3 s and the first HTTP 200 under 5 s on a 2-core CPU. Nothing loads a model at start,
so this measures imports and building the UI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def running_app(extra_env: dict[str, str] | None = None, timeout: float = 300.0,
                root: Path = ROOT, log: Path | None = None):  # fmt: skip
    """Start `python app.py` (of the checkout at `root`) on a free loopback port; yield (process,
    url, seconds to the first HTTP 200); stop it on exit. Its output goes to `log` if given."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", **(extra_env or {})}  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=env,
                            stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited early with code {proc.returncode}")
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"no HTTP 200 within {timeout} s")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield proc, url, time.perf_counter() - start
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if log:
            out.close()


def seconds_to_first_200() -> float:
    with running_app() as (_, _, seconds):
        return seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    imports = [import_seconds() for _ in range(args.runs)]
    ready = [seconds_to_first_200() for _ in range(args.runs)]
    print(f"import app:            {min(imports):.2f} s best, {max(imports):.2f} s worst ({args.runs} runs)")
    print(f"python app.py -> 200:  {min(ready):.2f} s best, {max(ready):.2f} s worst ({args.runs} runs)")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; target: import under 3 s, ready in under 5 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
