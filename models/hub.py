"""load(name): a catalog model, from the Hub or from its embedded checkpoint, cached.

Source policy (environment variable GAN_GALLERY_SOURCE):
  "hub" (default)  Hub first for entries that have a Hub checkpoint; on any failure (no network,
                   missing file, corrupt or mismatched weights) the embedded model is used and the
                   returned notice says why, for the UI to show.
  "embedded"       never touch the network; embedded checkpoints only.

Loading is strict: a missing or unexpected key, or a shape mismatch, is an error, never a
half-initialised model. Pickled (non-safetensors) Hub files are read with weights_only=True only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import torch
from torch import nn

from models.catalog import CatalogEntry, HubCheckpoint, get_entry

logger = logging.getLogger(__name__)

Source = Literal["hub", "embedded"]
SOURCE_ENV = "GAN_GALLERY_SOURCE"


class ModelUnavailable(RuntimeError):
    """No checkpoint of this model could be loaded; the message says why, for a person."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    model: nn.Module
    source: Source  # where the weights actually came from
    origin: str  # embedded directory or "repo_id@revision/filename"
    sha256: str  # of the weights file that was read
    notice: str | None = None  # set when the requested source could not be used

    @property
    def label(self) -> str:
        return f"{self.name} ({'Hub ' + self.origin if self.source == 'hub' else 'embedded'})"

    def provenance(self) -> dict:
        """What a benchmark records about the weights it measured (JSON-serialisable)."""
        return {"name": self.name, "source": self.source, "origin": self.origin, "sha256": self.sha256,
                "notice": self.notice}  # fmt: skip


def source_policy() -> Source:
    value = os.environ.get(SOURCE_ENV, "hub").strip().lower()
    if value not in ("hub", "embedded"):
        logger.warning("%s=%r is not 'hub' or 'embedded'; using 'hub'", SOURCE_ENV, value)
        return "hub"
    return value  # type: ignore[return-value]


_cache: dict[tuple[str, Source], LoadedModel] = {}
_locks: dict[tuple[str, Source], threading.Lock] = {}
_locks_guard = threading.Lock()


def load(name: str, source: Source | None = None) -> LoadedModel:
    """The model `name` in eval mode, loaded once per (name, source) and cached.

    Raises KeyError for an unknown name and ModelUnavailable when no checkpoint can be loaded.
    """
    source = source or source_policy()
    key = (name, source)
    if key in _cache:
        return _cache[key]
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # concurrent first requests load once
        if key not in _cache:
            _cache[key] = _load_uncached(get_entry(name), source)
        return _cache[key]


def clear_cache() -> None:
    _cache.clear()


def _load_uncached(entry: CatalogEntry, source: Source) -> LoadedModel:
    notice = None
    if entry.hub is not None:
        if source == "hub":
            try:
                model, origin, digest = _load_hub(entry, entry.hub)
                logger.info("loaded %s from the Hub (%s)", entry.name, origin)
                return LoadedModel(entry.name, model, "hub", origin, digest)
            except Exception as exc:  # any failure falls back; the reason is shown, not hidden
                reason = _short_reason(exc)
                logger.warning("Hub checkpoint for %s failed: %s", entry.name, reason)
                notice = (f"{entry.title}: the Hub checkpoint {entry.hub.repo_id} could not be "
                          f"loaded ({reason})")  # fmt: skip
        else:
            notice = f"{entry.title}: Hub loading is off ({SOURCE_ENV}=embedded)"
    if entry.embedded_dir is None:
        raise ModelUnavailable(
            (notice or entry.title) + "; this model has no embedded checkpoint to fall back to."
        )
    model, digest = _load_embedded(entry)
    if notice:
        notice += f"; using the embedded model '{entry.embedded}' instead."
    origin = f"models/weights/{entry.embedded_dir.name}"
    return LoadedModel(entry.name, model, "embedded", origin, digest, notice)


def _load_embedded(entry: CatalogEntry) -> tuple[nn.Module, str]:
    directory = entry.embedded_dir
    assert directory is not None
    weights = directory / "model.safetensors"
    if not weights.is_file() or not (directory / "config.json").is_file():
        raise ModelUnavailable(
            f"{entry.title}: embedded checkpoint missing (models/weights/{directory.name} needs "
            "config.json and model.safetensors; see README: Checkpoints)"
        )
    try:
        model = entry.model_class().from_pretrained(directory, strict=True)
    except Exception as exc:
        raise ModelUnavailable(
            f"{entry.title}: embedded checkpoint {directory.name} is unreadable ({_short_reason(exc)})"
        ) from exc
    return model.eval(), file_sha256(weights)


_reachable: dict[str, tuple[float, bool]] = {}


def hub_reachable(ttl: float = 300.0) -> bool:
    """Whether the Hub endpoint answers a TCP connection (cached for `ttl` s). Without this, an
    offline machine spends ~25 s in huggingface_hub's retries for every file."""
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    now = time.monotonic()
    if host in _reachable and now - _reachable[host][0] < ttl:
        return _reachable[host][1]
    try:
        socket.create_connection((host, 443), timeout=3).close()
        ok = True
    except OSError:
        ok = False
    _reachable[host] = (now, ok)
    return ok


def _load_hub(entry: CatalogEntry, hub: HubCheckpoint) -> tuple[nn.Module, str, str]:
    from huggingface_hub import constants, hf_hub_download

    # Unreachable Hub: still use files already in the local cache (e.g. a Space's persistent disk).
    local_only = not constants.HF_HUB_OFFLINE and not hub_reachable()
    cls = entry.model_class()

    def download(filename: str) -> Path:
        return Path(hf_hub_download(hub.repo_id, filename, revision=hub.revision,
                                    local_files_only=local_only))  # fmt: skip

    if hub.format == "mixin":
        model = cls.from_pretrained(hub.repo_id, revision=hub.revision, strict=True,
                                    local_files_only=local_only)  # fmt: skip
        path = download(hub.filename)
        return model.eval(), _origin(hub, path), file_sha256(path)
    path = download(hub.filename)
    if hub.format == "safetensors":
        from safetensors.torch import load_file

        state = load_file(path)
    else:  # "torch": never unpickle arbitrary objects from the network
        state = torch.load(path, map_location="cpu", weights_only=True)
    if hub.state_dict_key is not None:
        if not isinstance(state, dict) or hub.state_dict_key not in state:
            raise KeyError(f"checkpoint has no {hub.state_dict_key!r} entry")
        state = state[hub.state_dict_key]
    state = strip_prefixes(state, hub.strip_prefixes)
    model = cls(**hub.config)
    model.load_state_dict(state, strict=True)
    return model.eval(), _origin(hub, path), file_sha256(path)


def _origin(hub: HubCheckpoint, path: Path) -> str:
    """repo@commit/filename, with the full commit the cache resolved the pinned revision to."""
    commit = path.parent.name if path.parent.parent.name == "snapshots" else hub.revision
    return f"{hub.repo_id}@{commit}/{hub.filename}"


def strip_prefixes(state: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict:
    out = {}
    for key, value in state.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                break
        out[key] = value
    return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) < 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
