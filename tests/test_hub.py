"""Catalog and loader: embedded and (offline, through a fake Hugging Face cache) Hub checkpoints,
strictness, fallbacks with notices, and refusal of pickled code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from safetensors.torch import save_file

from models import catalog, hub
from models.catalog import CatalogEntry, HubCheckpoint
from tests.tiny_models import seeded_tiny

REV = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf_cache"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def put_in_cache(cache: Path, repo_id: str, files: dict[str, Path | bytes], rev: str = REV,
                 ref: str = "main") -> None:  # fmt: skip
    """Lay files out exactly as huggingface_hub's cache does (snapshots/<commit>/..., refs/<ref>)."""
    repo_dir = cache / f"models--{repo_id.replace('/', '--')}"
    snap = repo_dir / "snapshots" / rev
    snap.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / ref).write_text(rev)
    for name, content in files.items():
        data = content.read_bytes() if isinstance(content, Path) else content
        (snap / name).write_bytes(data)


def cache_mixin_repo(cache: Path, tmp_path: Path, repo_id: str, seed: int = 7) -> None:
    """A PyTorchModelHubMixin repo of seeded_tiny(4, seed) in the fake cache."""
    src = tmp_path / f"src-{repo_id.replace('/', '-')}"
    seeded_tiny(4, seed=seed).save_pretrained(src)
    put_in_cache(cache, repo_id, {"config.json": src / "config.json",
                                  "model.safetensors": src / "model.safetensors"})  # fmt: skip


@pytest.fixture
def register(monkeypatch):
    """Register test entries into a private copy of the catalog."""
    monkeypatch.setattr(catalog, "CATALOG", dict(catalog.CATALOG))

    def _register(**kwargs) -> CatalogEntry:
        kwargs.setdefault("cls", "tests.tiny_models:TinyNet")
        kwargs.setdefault("task", "test")
        kwargs.setdefault("title", kwargs["name"])
        return catalog.register(CatalogEntry(**kwargs))

    return _register


@pytest.fixture
def embedded_dir(tmp_path) -> Path:
    d = tmp_path / "tiny-embedded"
    seeded_tiny(4, seed=1).save_pretrained(d)
    return d


def test_embedded_round_trip_is_exact_and_cached(register, embedded_dir):
    register(name="tiny", embedded=str(embedded_dir))
    loaded = hub.load("tiny", "embedded")
    ref = seeded_tiny(4, seed=1)
    for k, v in ref.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    assert loaded.source == "embedded" and loaded.notice is None
    assert len(loaded.sha256) == 64
    assert hub.load("tiny", "embedded") is loaded  # cached
    assert not loaded.model.training


def test_embedded_strict_on_missing_and_unexpected_keys(register, tmp_path):
    d = tmp_path / "bad"
    seeded_tiny(4).save_pretrained(d)
    state = seeded_tiny(4).state_dict()
    state.pop("conv.bias")
    state["extra.weight"] = torch.zeros(1)
    save_file(state, d / "model.safetensors")
    register(name="bad", embedded=str(d))
    with pytest.raises(hub.ModelUnavailable, match="unreadable"):
        hub.load("bad", "embedded")


def test_embedded_shape_mismatch_is_an_error(register, tmp_path):
    d = tmp_path / "wide"
    seeded_tiny(8).save_pretrained(d)
    (d / "config.json").write_text('{"width": 4}')  # config disagrees with the weights
    register(name="wide", embedded=str(d))
    with pytest.raises(hub.ModelUnavailable):
        hub.load("wide", "embedded")


def test_missing_embedded_checkpoint_message(register, tmp_path):
    register(name="ghost", embedded=str(tmp_path / "nowhere"))
    with pytest.raises(hub.ModelUnavailable, match="missing"):
        hub.load("ghost")


def test_unknown_name():
    with pytest.raises(KeyError, match="unknown model"):
        hub.load("no-such-model")


def test_entry_needs_some_checkpoint(register):
    with pytest.raises(ValueError, match="neither"):
        register(name="empty")


def test_hub_mixin_from_fake_cache(register, fake_cache, tmp_path, embedded_dir):
    cache_mixin_repo(fake_cache, tmp_path, "someone/tiny")
    register(name="tiny-hub", embedded=str(embedded_dir),
             hub=HubCheckpoint(repo_id="someone/tiny", revision=REV))  # fmt: skip
    loaded = hub.load("tiny-hub", "hub")
    assert loaded.source == "hub" and loaded.notice is None
    assert torch.equal(loaded.model.conv.weight, seeded_tiny(4, seed=7).conv.weight)
    assert loaded.origin.startswith("someone/tiny@")


def test_hub_torch_checkpoint_with_prefix_and_key(register, fake_cache, tmp_path, embedded_dir):
    state = {"_orig_mod." + k: v for k, v in seeded_tiny(4, seed=3).state_dict().items()}
    path = tmp_path / "ckpt.pth.tar"
    torch.save({"state_dict": state, "epoch": 5}, path)
    put_in_cache(fake_cache, "someone/tiny-torch", {"ckpt.pth.tar": path})
    register(name="tiny-torch", embedded=str(embedded_dir), hub=HubCheckpoint(
        repo_id="someone/tiny-torch", revision=REV, filename="ckpt.pth.tar", format="torch",
        config={"width": 4}, state_dict_key="state_dict", strip_prefixes=("_orig_mod.",)))  # fmt: skip
    loaded = hub.load("tiny-torch", "hub")
    assert loaded.source == "hub"
    assert torch.equal(loaded.model.conv.weight, seeded_tiny(4, seed=3).conv.weight)


def test_unreachable_hub_falls_back_with_notice(register, fake_cache, embedded_dir):
    register(name="offline", embedded=str(embedded_dir),
             hub=HubCheckpoint(repo_id="someone/not-cached", revision=REV))  # fmt: skip
    loaded = hub.load("offline", "hub")
    assert loaded.source == "embedded"
    assert "someone/not-cached" in loaded.notice and "embedded" in loaded.notice


def test_missing_file_falls_back(register, fake_cache, tmp_path, embedded_dir):
    put_in_cache(fake_cache, "someone/partial", {"config.json": b'{"width": 4}'})
    register(name="partial", embedded=str(embedded_dir),
             hub=HubCheckpoint(repo_id="someone/partial", revision=REV))  # fmt: skip
    assert hub.load("partial", "hub").source == "embedded"


def test_corrupt_safetensors_falls_back(register, fake_cache, tmp_path, embedded_dir):
    src = tmp_path / "src"
    seeded_tiny(4).save_pretrained(src)
    data = (src / "model.safetensors").read_bytes()
    put_in_cache(fake_cache, "someone/corrupt", {"config.json": src / "config.json",
                                                 "model.safetensors": data[: len(data) // 2]})  # fmt: skip
    register(name="corrupt", embedded=str(embedded_dir),
             hub=HubCheckpoint(repo_id="someone/corrupt", revision=REV))  # fmt: skip
    loaded = hub.load("corrupt", "hub")
    assert loaded.source == "embedded" and "could not be loaded" in loaded.notice


def test_hub_shape_mismatch_falls_back(register, fake_cache, tmp_path, embedded_dir):
    src = tmp_path / "src8"
    seeded_tiny(8).save_pretrained(src)
    put_in_cache(fake_cache, "someone/mismatch", {"model.safetensors": src / "model.safetensors"})
    register(name="mismatch", embedded=str(embedded_dir), hub=HubCheckpoint(
        repo_id="someone/mismatch", revision=REV, format="safetensors", config={"width": 4}))  # fmt: skip
    assert hub.load("mismatch", "hub").source == "embedded"


class _Boom:
    def __reduce__(self):
        return (Path("/tmp/gan_gallery_pwned").touch, ())


def test_malicious_pickle_is_never_executed(register, fake_cache, tmp_path, embedded_dir):
    target = Path("/tmp/gan_gallery_pwned")
    target.unlink(missing_ok=True)
    put_in_cache(fake_cache, "evil/ckpt", {"ckpt.pth": pickle.dumps({"state_dict": _Boom()})})
    register(name="evil", embedded=str(embedded_dir), hub=HubCheckpoint(
        repo_id="evil/ckpt", revision=REV, filename="ckpt.pth", format="torch",
        config={"width": 4}, state_dict_key="state_dict"))  # fmt: skip
    loaded = hub.load("evil", "hub")
    assert loaded.source == "embedded" and "could not be loaded" in loaded.notice
    assert not target.exists()


def test_hub_only_entry_without_fallback_is_a_clear_error(register, fake_cache):
    register(name="hub-only", hub=HubCheckpoint(repo_id="someone/absent", revision=REV))
    with pytest.raises(hub.ModelUnavailable, match="no embedded checkpoint"):
        hub.load("hub-only", "hub")


def test_source_switch(register, fake_cache, tmp_path, embedded_dir, monkeypatch):
    cache_mixin_repo(fake_cache, tmp_path, "someone/tiny2")
    register(name="switch", embedded=str(embedded_dir),
             hub=HubCheckpoint(repo_id="someone/tiny2", revision=REV))  # fmt: skip
    monkeypatch.setenv(hub.SOURCE_ENV, "embedded")
    loaded = hub.load("switch")
    assert loaded.source == "embedded" and "off" in loaded.notice
    monkeypatch.setenv(hub.SOURCE_ENV, "hub")
    assert hub.load("switch").source == "hub"


def test_real_catalog_entries_are_well_formed():
    for entry in catalog.CATALOG.values():
        cls = entry.model_class()  # importable under the very name the catalog gives (no stale re-export)
        assert f"{cls.__module__}:{cls.__qualname__}" == entry.cls, entry.name
        assert callable(getattr(cls, "from_pretrained", None)), entry.name
        if entry.hub:  # pinned to a commit (full hash or a prefix the Hub resolves), never a branch
            assert re.fullmatch(r"[0-9a-f]{7,40}", entry.hub.revision), entry.name


def upstream_srresnet_x4_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of Lornatang/SRGAN-PyTorch's srresnet_x4 (64 channels, 16
    residual blocks), written out from that project's model definition — not from our class."""
    shapes: dict[str, tuple[int, ...]] = {
        "conv1.0.weight": (64, 3, 9, 9), "conv1.0.bias": (64,), "conv1.1.weight": (1,)}  # fmt: skip

    def bn(prefix: str) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (64,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    for i in range(16):
        shapes[f"trunk.{i}.rcb.0.weight"] = (64, 64, 3, 3)
        bn(f"trunk.{i}.rcb.1")
        shapes[f"trunk.{i}.rcb.2.weight"] = (1,)
        shapes[f"trunk.{i}.rcb.3.weight"] = (64, 64, 3, 3)
        bn(f"trunk.{i}.rcb.4")
    shapes["conv2.0.weight"] = (64, 64, 3, 3)
    bn("conv2.1")
    for i in range(2):
        shapes[f"upsampling.{i}.upsample_block.0.weight"] = (256, 64, 3, 3)
        shapes[f"upsampling.{i}.upsample_block.0.bias"] = (256,)
        shapes[f"upsampling.{i}.upsample_block.2.weight"] = (1,)
    shapes["conv3.weight"] = (3, 64, 9, 9)
    shapes["conv3.bias"] = (3,)
    return shapes


@pytest.mark.parametrize("name,filename", [
    ("srresnet-x4-imagenet", "SRResNet_x4-SRGAN_ImageNet.pth.tar"),
    ("srgan-x4-imagenet", "SRGAN_x4-SRGAN_ImageNet.pth.tar")])  # fmt: skip
def test_imagenet_srgan_checkpoints_load_strictly_from_fake_hub(name, filename, fake_cache, tmp_path):
    entry = catalog.get_entry(name)
    torch.manual_seed(0)
    state = {}
    for key, shape in upstream_srresnet_x4_shapes().items():
        if key.endswith("num_batches_tracked"):
            state["_orig_mod." + key] = torch.tensor(1000)
        else:
            state["_orig_mod." + key] = torch.rand(shape) if "running_var" in key else torch.randn(shape) * 0.02
    path = tmp_path / filename
    torch.save({"state_dict": state}, path)  # the training-checkpoint layout upstream releases
    put_in_cache(fake_cache, entry.hub.repo_id, {filename: path}, ref=entry.hub.revision)
    loaded = hub.load(name, "hub")
    assert loaded.source == "hub" and loaded.notice is None
    assert REV in loaded.origin  # the full commit the pinned prefix resolved to
    got = loaded.model.state_dict()
    assert set(got) == {k.removeprefix("_orig_mod.") for k in state}
    assert torch.equal(got["conv3.weight"], state["_orig_mod.conv3.weight"])
    with torch.inference_mode():
        assert loaded.model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)


def test_unreachable_hub_uses_local_cache_without_network(register, fake_cache, tmp_path,
                                                         embedded_dir, monkeypatch):  # fmt: skip
    """Not in offline mode, but the Hub does not answer: files already cached still load, and
    nothing is requested from the network (no retries)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr("huggingface_hub.file_download.get_hf_file_metadata", no_network)
    cache_mixin_repo(fake_cache, tmp_path, "someone/cached")
    register(name="cached", embedded=str(embedded_dir),
             hub=HubCheckpoint(repo_id="someone/cached", revision=REV))  # fmt: skip
    register(name="uncached", embedded=str(embedded_dir),
             hub=HubCheckpoint(repo_id="someone/uncached", revision=REV))  # fmt: skip
    assert hub.load("cached", "hub").source == "hub"
    fallback = hub.load("uncached", "hub")
    assert fallback.source == "embedded" and "someone/uncached" in fallback.notice


def test_reachability_probe_is_cached(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("no route")

    monkeypatch.setattr(hub.socket, "create_connection", refuse)
    monkeypatch.setattr(hub, "_reachable", {})
    assert hub.hub_reachable() is False
    assert hub.hub_reachable() is False
    assert len(calls) == 1
