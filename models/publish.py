"""Push the embedded checkpoints, with their model cards, to the Hugging Face Hub.

    python -m models.publish NAMESPACE [--prefix gan-gallery-] [--only srresnet-x4 ...] [--private]
    python -m models.publish NAMESPACE --dry-run      # show what would be uploaded, touch nothing

Each checkpoint becomes its own model repo, NAMESPACE/<prefix><name>, in the
PyTorchModelHubMixin layout (config.json + model.safetensors + README.md, plus the loss curves),
so `Cls.from_pretrained("NAMESPACE/<prefix><name>", revision=SHA)` loads it — the same code path
as the embedded copy. Pin the printed commit in models/catalog.py to serve it from the Hub.
Needs a write token (`hf auth login` or HF_TOKEN).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from models.catalog import CATALOG, WEIGHTS_DIR

REQUIRED = ("config.json", "model.safetensors", "README.md")
EXTRA = ("loss_curve.png", "training_log.csv", "training_meta.json")


@dataclass
class Upload:
    name: str
    repo_id: str
    folder: Path
    files: list[str]
    bytes: int


def plan_uploads(namespace: str, prefix: str = "gan-gallery-", only: list[str] | None = None,
                 weights_dir: Path | None = None) -> list[Upload]:  # fmt: skip
    """What would be pushed, checked without the network. Raises ValueError on a bad request or an
    incomplete checkpoint (a checkpoint without its model card is never published)."""
    weights_dir = weights_dir or WEIGHTS_DIR
    if not namespace or "/" in namespace:
        raise ValueError(f"namespace must be a user or organisation name, got {namespace!r}")
    embedded = sorted({e.embedded for e in CATALOG.values() if e.embedded} if only is None else only)
    uploads = []
    for name in embedded:
        folder = weights_dir / name
        if not folder.is_dir():
            raise ValueError(f"no embedded checkpoint {name!r} in {weights_dir}")
        missing = [f for f in REQUIRED if not (folder / f).is_file()]
        if missing:
            raise ValueError(f"{name}: missing {', '.join(missing)}; train it first")
        json.loads((folder / "config.json").read_text())  # must be valid JSON
        files = [f for f in (*REQUIRED, *EXTRA) if (folder / f).is_file()]
        size = sum((folder / f).stat().st_size for f in files)
        uploads.append(Upload(name, f"{namespace}/{prefix}{name}", folder, files, size))
    return uploads


def push(uploads: list[Upload], private: bool = False) -> dict[str, str]:
    """Create the repos and upload; returns {repo_id: commit sha} to pin in the catalog."""
    from huggingface_hub import HfApi

    api = HfApi()
    commits = {}
    for u in uploads:
        api.create_repo(u.repo_id, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(repo_id=u.repo_id, folder_path=u.folder, allow_patterns=u.files,
                                 commit_message=f"Upload {u.name} from GAN Gallery")  # fmt: skip
        commits[u.repo_id] = info.oid
    return commits


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.publish", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("namespace", help="Hub user or organisation to publish under")
    p.add_argument("--prefix", default="gan-gallery-")
    p.add_argument("--only", nargs="+", help="embedded checkpoint names (default: all)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    try:
        uploads = plan_uploads(args.namespace, args.prefix, args.only)
    except ValueError as exc:
        p.error(str(exc))
    for u in uploads:
        print(f"{u.repo_id}: {', '.join(u.files)} ({u.bytes / 1e6:.1f} MB)")
    if args.dry_run:
        print("dry run: nothing uploaded")
        return 0
    for repo_id, sha in push(uploads, args.private).items():
        print(f"{repo_id} @ {sha}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
