"""load(name): a catalog model, from the Hub or from its embedded checkpoint, cached.

Source policy (environment variable GAN_GALLERY_SOURCE, or the `source` argument):
  "auto" (default)  Hub first for entries with Hub sources, within a time budget: a file already in
                    the local Hugging Face cache loads with no network at all; otherwise one fast
                    probe (<= PROBE_SECONDS, once per PROBE_TTL) asks whether the Hub answers, and a
                    download starts in the background. A request waits for it at most WAIT_SECONDS,
                    then the embedded model serves it (the notice says so) and the Hub model is used
                    from the first request after the download finished. A silent Hub costs seconds.
  "hub"             as auto, but waits for downloads to finish (benchmarks, prefetch).
  "embedded"        never touch the network; embedded checkpoints only.

An entry may list several Hub sources (mirrors); they are tried in order and the result records
which one served, its full commit and the file's sha256 (a catalog sha256 is enforced). Loading is
strict: after the entry's documented key mapping, a missing or unexpected key or a shape mismatch is
an error, never a half-initialised model. Pickled (non-safetensors) Hub files are read with
torch.load(weights_only=True) only. Every result names the model that actually ran (`title`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from models.catalog import CATALOG, CatalogEntry, HubCheckpoint, get_entry

logger = logging.getLogger(__name__)

Source = Literal["auto", "hub", "embedded"]
SOURCE_ENV = "GAN_GALLERY_SOURCE"
PROBE_SECONDS = 2.0  # the reachability probe's whole budget (connect + first answer)
PROBE_TTL = 300.0  # how long a probe's answer is trusted
WAIT_SECONDS = float(os.environ.get("GAN_GALLERY_HUB_WAIT", "6"))  # auto: a request's download budget
ETAG_TIMEOUT = 5.0  # huggingface_hub metadata request timeout inside downloads


class ModelUnavailable(RuntimeError):
    """No checkpoint of this model could be loaded; the message says why, for a person."""


class HubUnreachable(RuntimeError):
    pass


class NotCached(RuntimeError):
    pass


class StillDownloading(RuntimeError):
    pass


class ChecksumMismatch(RuntimeError):
    pass


@dataclass(frozen=True)
class SourceAttempt:
    """One Hub source tried for one load: what, whether it served, and why not."""

    source: str  # "repo_id/filename@revision"
    ok: bool
    reason: str = ""  # for a person; empty when ok
    kind: str = ""  # "unreachable", "offline", "downloading", "failed" (machine-readable)


@dataclass(frozen=True)
class LoadedModel:
    name: str
    model: nn.Module
    source: Literal["hub", "embedded"]  # where the weights actually came from
    origin: str  # embedded directory or "repo_id@commit/filename"
    sha256: str  # of the weights file that was read
    notice: str | None = None  # set when the requested source could not be used
    title: str = ""  # the model that actually ran, as the UI names it
    attempts: tuple[SourceAttempt, ...] = ()
    commit: str | None = None  # full commit of the Hub snapshot that served
    size_bytes: int = 0
    load_seconds: float = 0.0
    license: str = ""
    pending: tuple[str, ...] = ()  # background downloads that may replace this fallback

    @property
    def label(self) -> str:
        return f"{self.title or self.name} ({'Hub ' + self.origin if self.source == 'hub' else 'embedded'})"

    def provenance(self) -> dict:
        """What a benchmark records about the weights it measured (JSON-serialisable)."""
        return {"name": self.name, "title": self.title, "source": self.source, "origin": self.origin,
                "commit": self.commit, "sha256": self.sha256, "notice": self.notice}  # fmt: skip


def source_policy() -> Source:
    value = os.environ.get(SOURCE_ENV, "auto").strip().lower()
    if value not in ("auto", "hub", "embedded"):
        logger.warning("%s=%r is not 'auto', 'hub' or 'embedded'; using 'auto'", SOURCE_ENV, value)
        return "auto"
    return value  # type: ignore[return-value]


_cache: dict[tuple[str, Source], LoadedModel] = {}
_locks: dict[tuple[str, Source], threading.Lock] = {}
_locks_guard = threading.Lock()
_health: dict[str, LoadedModel | str] = {}  # name -> the last load (or why it failed), for the panel


def load(name: str, source: Source | None = None) -> LoadedModel:
    """The model `name` in eval mode, loaded once per (name, source) and cached.

    Raises KeyError for an unknown name and ModelUnavailable when no checkpoint can be loaded.
    A fallback served while a Hub download runs is replaced once the download has finished.
    """
    source = source or source_policy()
    key = (name, source)
    hit = _cache.get(key)
    if hit is not None and not _stale(hit):
        return hit
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # concurrent first requests load once
        hit = _cache.get(key)
        if hit is None or _stale(hit):
            entry = get_entry(name)
            try:
                _cache[key] = _load_uncached(entry, source)
            except ModelUnavailable as exc:
                _health[name] = str(exc)
                raise
            _health[name] = _cache[key]
        return _cache[key]


def _stale(loaded: LoadedModel) -> bool:
    return any(_downloads[k].done.is_set() for k in loaded.pending if k in _downloads)


def clear_cache() -> None:
    _cache.clear()
    _health.clear()
    _reachable.clear()
    _notified.clear()


def retry_fallbacks() -> int:
    """Forget every cached fallback and the probe's answer, so that the next request for those
    models asks the Hub again (the health panel's "Re-check the Hub"). Returns how many."""
    stale = [k for k, v in _cache.items() if v.source == "embedded" and get_entry(k[0]).sources]
    for key in stale:
        _cache.pop(key, None)
    _reachable.clear()
    return len(stale)


def last_load(name: str) -> LoadedModel | str | None:
    """The latest load of `name` in this process (or its failure message), for the health panel."""
    return _health.get(name)


# --- loading ---------------------------------------------------------------------------------


def _load_uncached(entry: CatalogEntry, source: Source) -> LoadedModel:
    attempts: list[SourceAttempt] = []
    pending: list[str] = []
    if entry.sources and source != "embedded":
        for src in entry.sources:
            t = time.perf_counter()
            try:
                model, path, commit = _load_source(entry, src, wait=source == "hub", download=not pending)
            except StillDownloading as exc:
                attempts.append(SourceAttempt(_source_id(src), False, str(exc.args[0]), "downloading"))
                pending.append(exc.args[1])
                continue  # later mirrors may still serve from the cache, but start no download
            except HubUnreachable as exc:
                attempts.append(SourceAttempt(_source_id(src), False, str(exc), "unreachable"))
                continue  # a mirror's cached copy may still serve; nothing else touches the network
            except NotCached as exc:
                attempts.append(SourceAttempt(_source_id(src), False, str(exc), "offline"))
                continue
            except Exception as exc:  # any other failure falls back; the reason is shown, not hidden
                reason = _short_reason(exc)
                logger.warning("Hub source %s for %s failed: %s", _source_id(src), entry.name, reason)
                attempts.append(SourceAttempt(_source_id(src), False, reason, "failed"))
                continue
            attempts.append(SourceAttempt(_source_id(src), True))
            logger.info("loaded %s from the Hub (%s@%s)", entry.name, src.repo_id, commit)
            return LoadedModel(
                entry.name, model, "hub", f"{src.repo_id}@{commit}/{src.filename}", file_sha256(path),
                title=entry.title, attempts=tuple(attempts), commit=commit, size_bytes=path.stat().st_size,
                load_seconds=time.perf_counter() - t, license=src.license or entry.license,
            )  # fmt: skip
    notice = _fallback_notice(entry, source, attempts)
    if entry.embedded_dir is None:
        raise ModelUnavailable(notice or f"{entry.title}: no checkpoint could be loaded.")
    t = time.perf_counter()
    model, digest = _load_embedded(entry)
    weights = entry.embedded_dir / "model.safetensors"
    return LoadedModel(
        entry.name, model, "embedded", f"models/weights/{entry.embedded_dir.name}", digest, notice,
        title=entry.fallback_title if entry.sources else entry.title, attempts=tuple(attempts),
        size_bytes=weights.stat().st_size, load_seconds=time.perf_counter() - t,
        license="this project's own checkpoint (see its model card)", pending=tuple(pending),
    )  # fmt: skip


def _fallback_notice(entry: CatalogEntry, source: Source, attempts: list[SourceAttempt]) -> str | None:
    """One short sentence a person can act on (or that says nothing is needed)."""
    if not entry.sources:
        return None
    ran = (f"the embedded model '{entry.fallback_title}' ran instead" if entry.embedded
           else f"the Hub model ({entry.sources[0].repo_id}) is not available")  # fmt: skip
    if source == "embedded":
        return f"{entry.title}: Hub loading is off ({SOURCE_ENV}=embedded); {ran}."
    kinds = {a.kind for a in attempts}
    if "downloading" in kinds:
        size = f" (~{entry.sources[0].size_mb:.0f} MB)" if entry.sources[0].size_mb else ""
        meanwhile = f"; {ran} meanwhile" if entry.embedded else ""
        return (f"{entry.title} is downloading from the Hub{size}{meanwhile}. Nothing to do: "
                "later requests use it once it is ready.")  # fmt: skip
    if kinds <= {"unreachable", "offline"}:
        where = "the Hub did not answer" if "unreachable" in kinds else "offline mode (HF_HUB_OFFLINE=1)"
        return (f"{entry.title}: not in the local cache and {where}, so {ran}. To have it offline, run "
                "`python -m models.prefetch` once with network.")  # fmt: skip
    failed = next(a for a in attempts if a.kind == "failed")
    return (f"{entry.title}: the Hub checkpoint failed its checks ({failed.reason}), so {ran}. "
            "The Checkpoints panel lists each source tried.")  # fmt: skip


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


def _source_id(src: HubCheckpoint) -> str:
    return f"{src.repo_id}/{src.filename}@{src.revision}"


def source_files(src: HubCheckpoint) -> list[str]:
    """The repo files a source needs (the weights last)."""
    if src.format in ("mixin", "transformers"):
        return ["config.json", *src.extra_files, src.filename]
    return ([src.config_file] if src.config_file else []) + list(src.extra_files) + [src.filename]


def cached_path(src: HubCheckpoint, filename: str) -> Path | None:
    """The file from the local Hugging Face cache, or None; never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(src.repo_id, filename, revision=src.revision)
    return Path(found) if isinstance(found, str) else None


def _fetch(src: HubCheckpoint, wait: bool, download: bool = True) -> list[Path]:
    """Local paths of every file of `src`: from the cache, else downloaded (see module docstring)."""
    from huggingface_hub import constants

    paths, missing = [], []
    for filename in source_files(src):
        path = cached_path(src, filename)
        paths.append(path)
        if path is None:
            missing.append(filename)
    if not missing:
        return paths  # type: ignore[return-value]
    if constants.HF_HUB_OFFLINE:
        raise NotCached(f"{', '.join(missing)} not in the local cache (HF_HUB_OFFLINE=1)")
    if not download:
        raise NotCached(f"{', '.join(missing)} not in the local cache (an earlier mirror is downloading)")
    if not hub_reachable():
        raise HubUnreachable(f"not in the local cache; the Hub did not answer within {PROBE_SECONDS:.0f} s")
    for filename in missing:
        job = _start_download(src, filename)
        if not job.done.wait(None if wait else WAIT_SECONDS):
            raise StillDownloading(f"{filename} is downloading in the background", _download_key(src, filename))
        if job.error is not None:
            _downloads.pop(_download_key(src, filename), None)  # a later request may retry
            raise job.error
    return [cached_path(src, f) or _raise_not_cached(f) for f in source_files(src)]


def _raise_not_cached(filename: str) -> Path:
    raise NotCached(f"{filename} was downloaded but is not in the cache")


def _load_source(entry: CatalogEntry, src: HubCheckpoint, wait: bool,
                 download: bool = True) -> tuple[nn.Module, Path, str]:  # fmt: skip
    paths = _fetch(src, wait, download)
    path = paths[-1]
    commit = path.parent.name if path.parent.parent.name == "snapshots" else src.revision
    if src.sha256 is not None:
        digest = file_sha256(path)
        if digest != src.sha256:
            raise ChecksumMismatch(f"sha256 {digest[:12]}… is not the pinned {src.sha256[:12]}…")
    cls = entry.model_class()
    if src.format == "mixin":
        model = cls.from_pretrained(path.parent, strict=True)
        return model.eval(), path, commit
    if src.format == "transformers":
        model, info = cls.from_pretrained(path.parent, use_safetensors=True, output_loading_info=True)
        problems = {k: v for k, v in info.items() if v and k != "error_msgs"} | (
            {"error_msgs": info["error_msgs"]} if info.get("error_msgs") else {})  # fmt: skip
        if problems:
            raise RuntimeError(f"not a strict match: {_summarise(problems)}")
        return model.eval(), path, commit
    if src.format == "safetensors":
        from safetensors.torch import load_file

        state = load_file(path)
    else:  # "torch": never unpickle arbitrary objects from the network
        state = torch.load(path, map_location="cpu", weights_only=True)
    config = dict(src.config)
    if src.config_file:
        config |= json.loads(paths[0].read_text())
    model = cls(**config)
    model.load_state_dict(map_state_dict(state, src), strict=True)
    return model.eval(), path, commit


def map_state_dict(state: dict, src: HubCheckpoint) -> dict[str, torch.Tensor]:
    """Apply a source's documented key mapping (see HubCheckpoint) to a loaded checkpoint."""
    keys = src.state_dict_key
    if keys is not None:
        for key in (keys,) if isinstance(keys, str) else keys:
            if key == "":
                break  # the whole file is the state dict
            if isinstance(state, dict) and key in state:
                state = state[key]
                break
        else:
            raise KeyError(f"checkpoint has none of the entries {keys!r}")
    if not isinstance(state, dict):
        raise TypeError(f"the checkpoint holds a {type(state).__name__}, not a state dict")
    if src.keep_prefix is not None:
        state = {k[len(src.keep_prefix) :]: v for k, v in state.items() if k.startswith(src.keep_prefix)}
    state = strip_prefixes(state, src.strip_prefixes)
    for old, new in src.rename:
        state = {(new + k[len(old) :] if k.startswith(old) else k): v for k, v in state.items()}
    return state


def _summarise(problems: dict) -> str:
    return "; ".join(f"{k}: {', '.join(map(str, v))[:120]}" for k, v in problems.items())


# --- downloads and the reachability probe ---------------------------------------------------


@dataclass
class _Download:
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)


_downloads: dict[str, _Download] = {}
_downloads_guard = threading.Lock()


def _download_key(src: HubCheckpoint, filename: str) -> str:
    return f"{src.repo_id}@{src.revision}/{filename}"


def _start_download(src: HubCheckpoint, filename: str) -> _Download:
    """One background download per file (daemon thread: a stalled one never blocks exit)."""
    key = _download_key(src, filename)
    with _downloads_guard:
        job = _downloads.get(key)
        if job is not None:
            return job
        job = _downloads[key] = _Download()

    def run() -> None:
        from huggingface_hub import hf_hub_download

        try:
            hf_hub_download(src.repo_id, filename, revision=src.revision, etag_timeout=ETAG_TIMEOUT)
            logger.info("downloaded %s in %.1f s", key, time.monotonic() - job.started)
        except BaseException as exc:  # reported to whoever waits, and logged
            job.error = exc
            logger.warning("download of %s failed: %s", key, _short_reason(exc))
        finally:
            job.done.set()

    threading.Thread(target=run, name=f"hub-download {key}", daemon=True).start()
    return job


_reachable: dict[str, tuple[float, bool]] = {}
_probe_lock = threading.Lock()


def hub_reachable(ttl: float = PROBE_TTL, timeout: float = PROBE_SECONDS) -> bool:
    """Whether the Hub endpoint answers an HTTP request within `timeout` s (cached for `ttl` s).

    An HTTP answer, not a TCP connection: a Hub that accepts connections and never answers must
    count as unreachable. The probe runs in a daemon thread and is abandoned after `timeout`
    whatever the socket does (DNS included). Concurrent first callers share one probe.
    """
    from huggingface_hub import constants

    endpoint = constants.ENDPOINT
    with _probe_lock:
        now = time.monotonic()
        if endpoint in _reachable and now - _reachable[endpoint][0] < ttl:
            return _reachable[endpoint][1]
        answered = threading.Event()

        def probe() -> None:
            import httpx

            try:
                httpx.head(f"{endpoint}/api/models", timeout=timeout, follow_redirects=False)
                answered.set()  # any HTTP status means the Hub answers
            except Exception:
                pass

        threading.Thread(target=probe, name="hub-probe", daemon=True).start()
        ok = answered.wait(timeout)
        _reachable[endpoint] = (time.monotonic(), ok)
        if not ok:
            logger.warning("the Hub at %s did not answer within %.1f s", endpoint, timeout)
        return ok


# --- notices, once per session ---------------------------------------------------------------

_notified: OrderedDict[tuple[str, str], None] = OrderedDict()
_notified_guard = threading.Lock()
_NOTIFIED_MAX = 50_000


def notice_once(session: str | None, loaded: LoadedModel) -> str | None:
    """The load's notice the first time this session sees it for this model, else None."""
    if not loaded.notice:
        return None
    return first_time(session, f"{loaded.name}:{loaded.source}", loaded.notice)


def first_time(session: str | None, key: str, text: str | None) -> str | None:
    """`text` the first time this session sees it under `key`, else None (a bounded memory of
    (session, key, text)). `session` None (no session known, e.g. a direct call) always gets it."""
    if not text or session is None:
        return text or None
    item = (session, f"{key}:{text}")
    with _notified_guard:
        if item in _notified:
            return None
        _notified[item] = None
        while len(_notified) > _NOTIFIED_MAX:
            _notified.popitem(last=False)
    return text


# --- small helpers ---------------------------------------------------------------------------


def strip_prefixes(state: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict:
    out = {}
    for key, value in state.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                break
        out[key] = value
    return out


_digests: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _digests[key] = digest.hexdigest()
    return _digests[key]


def _short_reason(exc: BaseException) -> str:
    """A one-line reason for a person: no library internals (huggingface_hub's advice about
    local_files_only and the like is not something a user of this app can act on)."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    if isinstance(exc, LocalEntryNotFoundError):
        return "not in the local cache"
    if isinstance(exc, EntryNotFoundError):
        return "the file is not in that repo revision"
    if isinstance(exc, RepositoryNotFoundError):
        return "the repo or revision does not exist (or is private)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) < 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def catalog_names() -> list[str]:
    return list(CATALOG)
