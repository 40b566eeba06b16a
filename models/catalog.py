"""Every model the app knows, by name.

An entry names its class (imported lazily, as "module:Class"), the embedded checkpoint directory
under models/weights/ (trained by this project, PyTorchModelHubMixin layout), and optionally a Hub
checkpoint pinned to a commit. Hub checkpoints in another project's format say how to read them:
the file, its format, the constructor arguments, where the state dict sits and which key prefixes
to strip. hub.load() turns an entry into a model.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

HubFormat = Literal["mixin", "safetensors", "torch"]


@dataclass(frozen=True)
class HubCheckpoint:
    """A checkpoint on the Hugging Face Hub, pinned to a commit.

    format "mixin": a PyTorchModelHubMixin repo (config.json + model.safetensors);
    "safetensors": one safetensors file; "torch": a pickled torch file, only ever read with
    torch.load(weights_only=True).
    """

    repo_id: str
    revision: str
    filename: str = "model.safetensors"
    format: HubFormat = "mixin"
    config: dict = field(default_factory=dict)  # constructor kwargs (formats other than mixin)
    state_dict_key: str | None = None  # e.g. "state_dict" inside a training checkpoint
    strip_prefixes: tuple[str, ...] = ()  # e.g. ("_orig_mod.", "module.")
    license: str = ""
    citation: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    cls: str  # "models.srresnet:SRResNet"
    task: str  # the tab / benchmark that uses it
    title: str  # what the UI calls it
    embedded: str | None = None  # directory name under models/weights (also the Hub fallback)
    hub: HubCheckpoint | None = None
    description: str = ""

    def model_class(self) -> type:
        module, _, attr = self.cls.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def embedded_dir(self) -> Path | None:
        return WEIGHTS_DIR / self.embedded if self.embedded else None


CATALOG: dict[str, CatalogEntry] = {}


def register(entry: CatalogEntry) -> CatalogEntry:
    if entry.name in CATALOG:
        raise ValueError(f"duplicate catalog entry {entry.name!r}")
    if entry.embedded is None and entry.hub is None:
        raise ValueError(f"catalog entry {entry.name!r} has neither an embedded nor a Hub checkpoint")
    CATALOG[entry.name] = entry
    return entry


def get_entry(name: str) -> CatalogEntry:
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG)) or "none"
        raise KeyError(f"unknown model {name!r}; the catalog has: {known}") from None


def entries_for(task: str) -> list[CatalogEntry]:
    return [e for e in CATALOG.values() if e.task == task]


# --- the catalog -----------------------------------------------------------------------------

register(CatalogEntry(
    name="srresnet-x4", cls="models.srresnet:SRResNet", task="superres", title="SRResNet (MSE)",
    embedded="srresnet-x4",
    description="SRResNet x4 trained here with pixel MSE on real photo patches (small: see card).",
))  # fmt: skip
register(CatalogEntry(
    # Trained offline without ImageNet VGG19 weights, so with the paper's MSE content-loss variant;
    # a run with VGG weights in the torch cache would make it SRGAN-VGG54 (see its model card).
    name="srgan-x4", cls="models.srresnet:SRResNet", task="superres", title="SRGAN-MSE",
    embedded="srgan-x4",
    description="SRGAN x4 (MSE content loss): the SRResNet above fine-tuned adversarially here.",
))  # fmt: skip

# The ImageNet-trained x4 models of the community SRGAN-PyTorch project (16 blocks x 64 channels,
# the paper's size), published by its author on the Hub as training checkpoints
# {"state_dict": ...}. Pinned to commit 9cc5c4c (the Hub resolves commit prefixes; the full hash
# could not be read from this offline machine, and the loader records the full commit it resolves).
_SRGAN_PYTORCH = dict(repo_id="goodfellowliu/SRGAN-PyTorch", revision="9cc5c4c", format="torch",
                      config={"channels": 64, "num_rcb": 16, "upscale": 4},
                      state_dict_key="state_dict", strip_prefixes=("_orig_mod.", "module."),
                      license="Apache-2.0 (Lornatang/SRGAN-PyTorch)")  # fmt: skip
register(CatalogEntry(
    name="srresnet-x4-imagenet", cls="models.srresnet:SRResNet", task="superres",
    title="SRResNet (MSE, ImageNet)", embedded="srresnet-x4",
    hub=HubCheckpoint(filename="SRResNet_x4-SRGAN_ImageNet.pth.tar", **_SRGAN_PYTORCH),
    description="SRResNet x4 trained on ImageNet by Lornatang/SRGAN-PyTorch (Hub).",
))  # fmt: skip
register(CatalogEntry(
    name="srgan-x4-imagenet", cls="models.srresnet:SRResNet", task="superres",
    title="SRGAN (VGG loss, ImageNet)", embedded="srgan-x4",
    hub=HubCheckpoint(filename="SRGAN_x4-SRGAN_ImageNet.pth.tar", **_SRGAN_PYTORCH),
    description="SRGAN x4 trained on ImageNet by Lornatang/SRGAN-PyTorch (Hub).",
))  # fmt: skip

# DCGAN / AC-GAN (issue #4) and the classifiers that judge their samples (trained on real data).
register(CatalogEntry(
    name="dcgan-faces", cls="models.dcgan:DCGANGenerator", task="dcgan", title="DCGAN (faces)",
    embedded="dcgan-faces",
    description="DCGAN 64x64 trained here on procedural faces with known attributes.",
))  # fmt: skip
register(CatalogEntry(
    name="acgan-fashion", cls="models.dcgan:ACGANGenerator", task="acgan", title="AC-GAN (Fashion-MNIST)",
    embedded="acgan-fashion",
    description="AC-GAN 32x32 trained here on real Fashion-MNIST photos, 10 classes.",
))  # fmt: skip
register(CatalogEntry(
    name="face-attribute-classifier", cls="models.classifiers:FaceAttributeClassifier", task="judge",
    title="Face attribute classifier", embedded="face-attribute-classifier",
    description="Judges generated faces: trained on ground-truth renders of data/faces.py.",
))  # fmt: skip
register(CatalogEntry(
    name="fashion-classifier", cls="models.classifiers:FashionClassifier", task="judge",
    title="Fashion-MNIST classifier", embedded="fashion-classifier",
    description="Judges AC-GAN samples: trained on the real Fashion-MNIST training split.",
))  # fmt: skip

# Inpainting (issue #6).
register(CatalogEntry(
    name="inpainting-gated", cls="models.inpainting:GatedInpaintGenerator", task="inpainting",
    title="Gated-conv GAN", embedded="inpainting-gated",
    description="DeepFillv2-style gated-convolution GAN (small; residual to a harmonic fill), "
                "trained here with an SN-PatchGAN on real photo crops (see its card).",
))  # fmt: skip
