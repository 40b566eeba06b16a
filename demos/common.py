"""Gradio glue shared by the tabs: user-facing errors and notices."""

from __future__ import annotations

import base64
import functools
import inspect
import logging
from collections.abc import Callable

import gradio as gr

from demos.input_guard import InputError
from models.hub import ModelUnavailable

logger = logging.getLogger(__name__)


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
    """Save a PIL image under a fresh temporary folder (a download for one request); its path."""
    import tempfile
    from pathlib import Path

    out = Path(tempfile.mkdtemp(prefix=prefix)) / name
    image.save(out)
    return str(out)


def gallery_files(images, prefix: str) -> list[str]:
    """Write gallery images as PNG files and return their paths. Gradio caches numpy outputs by
    rewriting one content-addressed file in place, so two requests with identical images (same
    caption and seed) can truncate a file another client is downloading; file outputs are copied
    into the cache atomically instead (a 16-user load test failed 2 of 77 requests before this)."""
    import tempfile
    from pathlib import Path

    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    paths = []
    for i, im in enumerate(images):
        path = folder / f"{i + 1:02d}.png"
        Image.fromarray(im).save(path)
        paths.append(str(path))
    return paths


def notices_markdown(notices: list[str]) -> str:
    return "\n".join(f"- ⚠️ {n}" for n in notices) if notices else ""


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


def image_input(label: str = "Input image") -> gr.Image:
    return UploadedImage(label=label, type="filepath", image_mode=None,
                         sources=["upload", "clipboard"], height=320)  # fmt: skip
