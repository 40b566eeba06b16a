"""Gradio glue shared by the tabs: user-facing errors and notices, choice components whose
errors stay short, and the one output cache every per-request file is written to."""

from __future__ import annotations

import base64
import functools
import html
import inspect
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from data.input_guard import InputError, finite_or_none, short
from models.hub import ModelUnavailable

logger = logging.getLogger(__name__)

# Per-request outputs (comparison PNGs, gallery files, exports) live in one folder inside gradio's
# cache, so gradio serves them without a second copy; it is pruned by age and total size.
OUTPUT_MAX_AGE_S = float(os.environ.get("GAN_GALLERY_OUTPUT_MAX_AGE_S", 15 * 60))
OUTPUT_MAX_BYTES = int(float(os.environ.get("GAN_GALLERY_OUTPUT_MAX_MB", 256)) * 2**20)
OUTPUT_MIN_AGE_S = 60.0  # never removed younger than this (it is being sent to a browser)
PRUNE_EVERY_S = 10.0
_prune_lock = threading.Lock()
_last_prune = 0.0


def output_root() -> Path:
    return Path(get_upload_folder()) / "gan_gallery_outputs"


def _entry_stats(entry: Path) -> tuple[float, int]:
    """(newest mtime, total bytes) of a request folder."""
    newest, total = entry.stat().st_mtime, 0
    for dirpath, _, files in os.walk(entry):
        for name in files:
            try:
                st = os.stat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            newest, total = max(newest, st.st_mtime), total + st.st_size
    return newest, total


def prune_outputs(root: Path | None = None, max_age_s: float = OUTPUT_MAX_AGE_S,
                  max_bytes: int = OUTPUT_MAX_BYTES, min_age_s: float = OUTPUT_MIN_AGE_S,
                  now: float | None = None) -> tuple[int, int]:  # fmt: skip
    """Remove request folders older than max_age_s, then the oldest until the rest fit in
    max_bytes (none younger than min_age_s). Returns (folders removed, bytes kept)."""
    root = root or output_root()
    now = time.time() if now is None else now
    try:
        entries = [e for e in root.iterdir() if e.is_dir()]
    except FileNotFoundError:
        return 0, 0
    stats = sorted(((*_entry_stats(e), e) for e in entries), key=lambda t: t[0])
    kept = sum(size for _, size, _ in stats)
    removed = 0
    for mtime, size, entry in stats:  # oldest first
        age = now - mtime
        if age < min_age_s or (age <= max_age_s and kept <= max_bytes):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        kept -= size
        removed += 1
    return removed, kept


def output_dir(prefix: str) -> Path:
    """A fresh folder for one request's files, in the output cache (pruned now and then)."""
    global _last_prune
    if time.monotonic() - _last_prune > PRUNE_EVERY_S and _prune_lock.acquire(blocking=False):
        try:
            _last_prune = time.monotonic()
            prune_outputs()
        finally:
            _prune_lock.release()
    folder = output_root() / f"{prefix}{uuid.uuid4().hex[:16]}"
    folder.mkdir(parents=True)
    return folder


def output_path(prefix: str, name: str) -> str:
    """Where to write one request's file `name` (in a fresh folder of the output cache)."""
    return str(output_dir(prefix) / name)


def user_errors(fn: Callable) -> Callable:
    """Turn the errors a person can act on into gr.Error (shown in the UI, server unharmed)."""

    if inspect.isgeneratorfunction(fn):  # streaming handlers: wherever in the stream it happens

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except (InputError, ModelUnavailable) as exc:
                raise gr.Error(str(exc), title="Cannot do that") from exc

        return stream

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, ModelUnavailable) as exc:
            raise gr.Error(str(exc), title="Cannot do that") from exc

    return wrapper


def enlarge_nearest(image, size: int):
    """(h, w, 3) uint8 -> (size, size, 3), nearest neighbour: every generated pixel stays visible."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.NEAREST))


def save_temp_png(image, prefix: str, name: str) -> str:
    """Save a PIL image in the output cache (a download for one request); its path."""
    out = output_path(prefix, name)
    image.save(out)
    return out


def gallery_files(images, prefix: str) -> list[str]:
    """Write gallery images as PNG files and return their paths. Gradio caches numpy outputs by
    rewriting one content-addressed file in place, so two requests with identical images (same
    caption and seed) can truncate a file another client is downloading; file outputs are copied
    into the cache atomically instead (a 16-user load test failed 2 of 77 requests before this)."""
    from PIL import Image

    folder = output_dir(prefix)
    paths = []
    for i, im in enumerate(images):
        path = folder / f"{i + 1:02d}.png"
        Image.fromarray(im).save(path)
        paths.append(str(path))
    return paths


class Notice(str):
    """A notice's text with its level: "info" (what was done, e.g. a resize), "warning" (the result
    differs from what was asked, e.g. a fallback model) or "error" (part of the request could not
    run). A plain str is shown as a warning."""

    level = "warning"

    def __new__(cls, text: str, level: str = "warning"):
        if level not in NOTICE_STYLES:
            raise ValueError(f"unknown notice level {level!r}")
        obj = super().__new__(cls, text)
        obj.level = level
        return obj


def info(text: str) -> Notice:
    return Notice(text, "info")


def warning(text: str) -> Notice:
    return Notice(text, "warning")


def error(text: str) -> Notice:
    return Notice(text, "error")


# level -> (icon, label read by screen readers, border colour, background, text colour)
NOTICE_STYLES = {
    "info": ("ℹ️", "Information", "#2563eb", "#eff6ff", "#1e3a8a"),
    "warning": ("⚠️", "Warning", "#d97706", "#fffbeb", "#78350f"),
    "error": ("⛔", "Error", "#dc2626", "#fef2f2", "#7f1d1d"),
}


def notice_level(notice: str) -> str:
    return getattr(notice, "level", "warning")


def notices_markdown(notices: list[str]) -> str:
    """The notices as coloured boxes (icon and colour by level), for a gr.Markdown."""
    boxes = []
    for n in notices:
        level = notice_level(n)
        icon, label, border, background, colour = NOTICE_STYLES[level]
        boxes.append(f'<div class="gg-notice gg-notice-{level}" role="{"alert" if level == "error" else "note"}" '
                     f'style="border-left:4px solid {border};background:{background};color:{colour};'
                     f'padding:6px 10px;margin:4px 0;border-radius:4px">'
                     f'<span aria-label="{label}">{icon}</span> {html.escape(str(n), quote=False)}</div>')  # fmt: skip
    return "\n".join(boxes)


class UploadedImage(gr.Image):
    """gr.Image that hands the handler the uploaded file untouched (a path, or bytes for a data
    URL): the input guard does all decoding, so a corrupt or non-image file gets its clear message
    instead of a preprocessing error."""

    is_template = True  # rendered by the frontend as a plain Image

    def preprocess(self, payload):  # type: ignore[override]
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):
            try:
                return base64.b64decode(payload.url.split(",", 1)[1], validate=False)
            except (ValueError, IndexError) as exc:
                raise gr.Error("The pasted image data could not be decoded.") from exc
        return str(payload.path)


def image_input(label: str = "Input image", value: str | None = None) -> gr.Image:
    return UploadedImage(value, label=label, type="filepath", image_mode=None,
                         sources=["upload", "clipboard"], height=320)  # fmt: skip


class _GradioTemplate:
    """A subclass rendered by the frontend as the gradio component it extends. gradio names the
    frontend file after `__class__.__base__`, which with a mixin first in the bases is the mixin
    (the page then asks for a custom component's JS that does not exist and never loads)."""

    is_template = True

    def _gradio_name(self) -> str:
        return next(c for c in type(self).__mro__ if c.__module__.startswith("gradio.")).__name__.lower()

    def get_block_name(self) -> str:
        return self._gradio_name()

    def get_block_class(self) -> str:
        return self._gradio_name()


class _ShortChoiceErrors(_GradioTemplate):
    """gradio's choice components answer an unknown value with an error that repeats the whole
    value (100 KB back for a 100 KB value); these say what was wrong in a few dozen characters."""

    def preprocess(self, payload):  # type: ignore[override]
        values = [v for _, v in self.choices]
        sent = payload if isinstance(payload, list) else [payload]
        multiselect = isinstance(self, gr.CheckboxGroup) or getattr(self, "multiselect", False)
        custom = getattr(self, "allow_custom_value", False)
        if payload is not None and not custom:
            if isinstance(payload, list) and not multiselect:
                raise gr.Error(f"{self.label or 'Choice'}: one value expected, got a list.")
            for v in sent:
                if not isinstance(v, (str, int, float)) or isinstance(v, bool) or v not in values:
                    raise gr.Error(f"{self.label or 'Choice'}: {short(v)} is not one of the choices.")
        return super().preprocess(payload)


class Radio(_ShortChoiceErrors, gr.Radio):
    is_template = True  # rendered by the frontend as a plain Radio


class Dropdown(_ShortChoiceErrors, gr.Dropdown):
    is_template = True


class CheckboxGroup(_ShortChoiceErrors, gr.CheckboxGroup):
    is_template = True


class Checkbox(gr.Checkbox):
    """gr.Checkbox whose API value must be a real boolean (gradio passes NaN or "abc" through, and
    a handler reading it as truthy would take it for True)."""

    is_template = True

    def preprocess(self, payload):  # type: ignore[override]
        if payload is not None and not isinstance(payload, bool):
            raise gr.Error(f"{self.label or 'Checkbox'}: true or false expected, got {short(payload)}.")
        return super().preprocess(payload)


class _FiniteNumber(_GradioTemplate):
    """gradio's Number and Slider compare and round the value before the handler sees it, so NaN,
    inf or text end as "cannot convert float NaN to integer"; these refuse them with a message."""

    def preprocess(self, payload):  # type: ignore[override]
        if payload is not None and (isinstance(payload, str) or finite_or_none(payload) is None):
            raise gr.Error(f"{self.label or 'Number'} must be a finite number, got {short(payload)}.")
        return super().preprocess(payload)


class Number(_FiniteNumber, gr.Number):
    is_template = True  # rendered by the frontend as a plain Number


class Slider(_FiniteNumber, gr.Slider):
    is_template = True
