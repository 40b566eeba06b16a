"""Silent-Hub timing (issue #22 F7): how long the first Hub super-resolution request takes when the
Hub accepts connections and never answers.

  python -m bench.silent_hub                 # the app's loader (auto and hub sources)
  python -m bench.silent_hub --legacy 120    # also: one plain hf_hub_download, as the loader did
                                             # before (capped at 120 s; it retries for minutes)

Runs against a local SilentServer with an empty, temporary Hugging Face cache; prints seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--legacy", type=float, default=0.0, metavar="CAP_S",
                        help="also time a plain hf_hub_download, abandoned after CAP_S seconds")  # fmt: skip
    args = parser.parse_args()

    import huggingface_hub.constants as constants

    from models import hub
    from models.catalog import get_entry
    from models.silent_hub import SilentServer

    with SilentServer() as server, tempfile.TemporaryDirectory() as cache:
        constants.ENDPOINT = server.endpoint
        constants.HF_HUB_OFFLINE = False
        constants.HF_HUB_CACHE = cache
        print(f"silent Hub at {server.endpoint}; empty cache {cache}")
        for source in ("auto", "hub"):
            hub.clear_cache()
            t = time.monotonic()
            loaded = hub.load("srresnet-x4-imagenet", source)
            print(f"  hub.load(srresnet-x4-imagenet, {source!r}): {time.monotonic() - t:6.2f} s -> "
                  f"{loaded.source} '{loaded.title}'")  # fmt: skip
        if args.legacy:
            from huggingface_hub import hf_hub_download

            src = get_entry("srresnet-x4-imagenet").sources[-1]
            done = threading.Event()
            outcome = {}

            def legacy() -> None:
                t0 = time.monotonic()
                try:
                    hf_hub_download(src.repo_id, src.filename, revision=src.revision, endpoint=server.endpoint)
                    outcome["result"] = "downloaded?"
                except Exception as exc:
                    outcome["result"] = type(exc).__name__
                outcome["seconds"] = time.monotonic() - t0
                done.set()

            threading.Thread(target=legacy, daemon=True).start()
            if done.wait(args.legacy):
                print(f"  plain hf_hub_download (before): {outcome['seconds']:6.2f} s -> {outcome['result']}")
            else:
                print(f"  plain hf_hub_download (before): still waiting after {args.legacy:.0f} s (abandoned)")


if __name__ == "__main__":
    main()
