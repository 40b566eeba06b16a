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
    name="inpainting-gated", cls="models.gated_inpainting:GatedInpaintGenerator", task="inpainting",
    title="Gated-conv GAN", embedded="inpainting-gated",
    description="DeepFillv2-style gated-convolution GAN (small; residual to a harmonic fill), "
                "trained here with an SN-PatchGAN on real photo crops (see its card).",
))  # fmt: skip

# Image translation (issue #7): day <-> night on procedural scenes, and two community checkpoints.
register(CatalogEntry(
    name="pix2pix-day-night", cls="models.pix2pix:Pix2PixPair", task="translation", title="pix2pix (paired)",
    embedded="pix2pix-day-night",
    description="Two pix2pix U-Nets (day → night, night → day) trained here on paired procedural renders.",
))  # fmt: skip
register(CatalogEntry(
    name="cyclegan-day-night", cls="models.cyclegan:CycleGAN", task="translation", title="CycleGAN (unpaired)",
    embedded="cyclegan-day-night",
    description="CycleGAN generators trained here on unpaired procedural day and night renders.",
))  # fmt: skip
register(CatalogEntry(
    name="scene-classifier", cls="models.scene_features:SceneClassifier", task="judge",
    title="Scene classifier", embedded="scene-classifier",
    description="Judges translations (time of day, season, weather): trained on ground-truth renders.",
))  # fmt: skip
# Community checkpoints: plain pytorch_model.bin state dicts (no config.json), read with
# torch.load(weights_only=True) into classes whose parameter names match upstream
# (huggingface/community-events huggan/pytorch/pix2pix; tmabraham/UPIT upit/models/cyclegan.py).
register(CatalogEntry(
    name="pix2pix-night2day-hub", cls="models.pix2pix:UNetGenerator", task="translation",
    title="pix2pix night → day (HugGAN, real photos)",
    hub=HubCheckpoint(repo_id="huggan/pix2pix-night2day", revision="150e94d5ccdecfb61a98bceee3962c981d175d2e",
                      filename="pytorch_model.bin", format="torch",
                      config={"ngf": 64, "depth": 8, "max_mult": 8, "dropout": 0.5},
                      license="MIT (model card)", citation="Isola et al. 2017; huggingface/community-events (HugGAN)"),
    description="HugGAN's pix2pix U-Net (54 M parameters) trained on huggan/night2day photos; night → day only, 256 px.",
))  # fmt: skip
register(CatalogEntry(
    name="cyclegan-horse2zebra-hub", cls="models.cyclegan:CycleGAN", task="translation",
    title="CycleGAN horse → zebra (UPIT)",
    hub=HubCheckpoint(repo_id="tmabraham/horse2zebra_cyclegan", revision="a97667461b0f57d35692c6210dd747e7e90fa056",
                      filename="pytorch_model.bin", format="torch",
                      config={"n_features": 64, "n_blocks": 9, "disc_layers": 3, "discriminators": True, "image_size": 256},
                      license="not stated on the model repo (UPIT code: Apache-2.0)", citation="Zhu et al. 2017; tmabraham/UPIT"),
    description="UPIT's CycleGAN (G_A, G_B, D_A, D_B; 28 M parameters) for horse2zebra: another task, shown as such.",
))  # fmt: skip

# Text-to-image (issue #5): a small CLIP trained here (no pretrained CLIP is reachable offline; the
# trainer takes a Hub CLIP such as openai/clip-vit-base-patch32 with --clip where one is cached) and
# GAN-INT-CLS trained on its text embeddings.
register(CatalogEntry(
    name="scene-clip", cls="models.scene_clip:SceneCLIP", task="judge", title="Scene CLIP (trained here)",
    embedded="scene-clip",
    description="Small CLIP (text + image transformers) trained contrastively on captioned procedural scenes.",
))  # fmt: skip
register(CatalogEntry(
    name="gan-int-cls-scenes", cls="models.gan_int_cls:GanIntCls", task="text2image", title="GAN-INT-CLS (scenes)",
    embedded="gan-int-cls-scenes",
    description="GAN-INT-CLS 64x64 (matching-aware D, interpolated embeddings, style encoder) trained here.",
))  # fmt: skip
