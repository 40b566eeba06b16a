"""Download every Hub checkpoint of the catalog into the Hugging Face cache ahead of time.

  python -m models.prefetch              # all entries with Hub sources
  python -m models.prefetch esrgan-x4    # some
  python -m models.prefetch --load       # also load each one strictly, as the app would

For a Space's build step or a talk without network: afterwards the app loads these models from the
local cache with no network at all. For each entry the sources (mirrors) are tried in order until
one downloads; each file's sha256 is computed and checked against the catalog's pin when there is
one. Prints, per entry, the source that served, its full commit and sha256 (for pinning an entry
whose revision is still a branch) and exits non-zero if any entry could not be fetched or verified.
Respects HF_HOME / HF_HUB_CACHE / HF_ENDPOINT like huggingface_hub does.
"""

from __future__ import annotations

import argparse
import sys
import time

from models import hub
from models.catalog import CATALOG, CatalogEntry, HubCheckpoint


def fetch_source(src: HubCheckpoint) -> dict:
    """Download one source's files; its record (raises on failure or a sha256 mismatch)."""
    from huggingface_hub import hf_hub_download

    record = {"source": f"{src.repo_id}/{src.filename}", "revision": src.revision, "files": []}
    for filename in hub.source_files(src):
        t = time.perf_counter()
        path = hub.Path(hf_hub_download(src.repo_id, filename, revision=src.revision))
        digest = hub.file_sha256(path)
        if filename == src.filename and src.sha256 and digest != src.sha256:
            raise hub.ChecksumMismatch(f"{filename}: sha256 {digest} is not the pinned {src.sha256}")
        commit = path.parent.name if path.parent.parent.name == "snapshots" else src.revision
        record["commit"] = commit
        record["files"].append({"file": filename, "sha256": digest, "bytes": path.stat().st_size,
                                "seconds": round(time.perf_counter() - t, 1)})  # fmt: skip
    return record


def prefetch_entry(entry: CatalogEntry, load: bool = False) -> dict:
    errors = []
    for src in entry.sources:
        try:
            record = fetch_source(src)
        except Exception as exc:  # the next mirror may serve
            errors.append(f"{src.repo_id}: {hub._short_reason(exc)}")
            continue
        record["name"], record["pinned"], record["errors"] = entry.name, src.pinned, errors
        if load:
            loaded = hub.load(entry.name, "hub")
            if loaded.source != "hub":
                raise RuntimeError(f"{entry.name}: downloaded but did not load: {loaded.notice}")
        return record
    raise RuntimeError(f"{entry.name}: no source could be fetched ({'; '.join(errors)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="catalog names (default: every entry with Hub sources)")
    parser.add_argument("--load", action="store_true", help="also load each model strictly after download")
    args = parser.parse_args(argv)
    names = args.names or [n for n, e in CATALOG.items() if e.sources]
    failed = 0
    for name in names:
        entry = CATALOG.get(name)
        if entry is None or not entry.sources:
            print(f"{name}: not a catalog entry with Hub sources", file=sys.stderr)
            failed += 1
            continue
        try:
            record = prefetch_entry(entry, load=args.load)
        except Exception as exc:
            print(f"FAILED {name}: {exc}")
            failed += 1
            continue
        print(f"ok {name}: {record['source']} @ {record['commit']}")
        for f in record["files"]:
            print(f"     {f['file']}: {f['bytes'] / 1e6:.1f} MB sha256 {f['sha256']} ({f['seconds']} s)")
        for err in record["errors"]:
            print(f"     (earlier mirror failed: {err})")
        if not record["pinned"]:
            print(f"     unpinned: pin revision={record['commit']!r} (and sha256) in models/catalog.py")
    print(f"{len(names) - failed} of {len(names)} fetched")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
