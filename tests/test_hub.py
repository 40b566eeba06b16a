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
    assert "offline mode" in loaded.notice and "embedded model 'tiny-embedded (embedded)' ran" in loaded.notice
    assert "local_files_only" not in loaded.notice  # no library internals
    assert loaded.attempts[0].source.startswith("someone/not-cached/") and loaded.attempts[0].kind == "offline"


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
    assert loaded.source == "embedded" and "failed its checks" in loaded.notice


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
    assert loaded.source == "embedded" and "failed its checks" in loaded.notice
    assert not target.exists()


def test_hub_only_entry_without_fallback_is_a_clear_error(register, fake_cache):
    register(name="hub-only", hub=HubCheckpoint(repo_id="someone/absent", revision=REV))
    with pytest.raises(hub.ModelUnavailable, match="is not available"):
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
        if entry.cls.startswith("models."):  # ours: the defining module, never a stale re-export
            assert f"{cls.__module__}:{cls.__qualname__}" == entry.cls, entry.name
        assert callable(getattr(cls, "from_pretrained", None)) or entry.sources, entry.name
        for src in entry.sources:
            # pinned to a commit (full hash or a prefix the Hub resolves); a branch only where the
            # catalog says no commit could be read offline, with the upstream file the keys came from
            if src.pinned:
                assert re.fullmatch(r"[0-9a-f]{7,40}", src.revision), entry.name
            else:
                assert src.revision == "main" and src.keys_from, entry.name
            assert src.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", src.sha256), entry.name
            assert src.license or entry.license, entry.name


def test_sr_mirrors_put_the_moved_weights_first():
    for name, new in [("srresnet-x4-imagenet", "SRResNet_x4-ImageNet.pth.tar"),
                      ("srgan-x4-imagenet", "SRGAN_x4-ImageNet.pth.tar")]:  # fmt: skip
        sources = catalog.get_entry(name).sources
        assert [s.repo_id for s in sources] == ["ChangyuLiu/SRGAN-PyTorch", "goodfellowliu/SRGAN-PyTorch"]
        assert sources[0].filename == new


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


@pytest.mark.parametrize("name,mirror", [
    ("srresnet-x4-imagenet", 0), ("srresnet-x4-imagenet", 1),
    ("srgan-x4-imagenet", 0), ("srgan-x4-imagenet", 1)])  # fmt: skip
def test_imagenet_srgan_checkpoints_load_strictly_from_fake_hub(name, mirror, fake_cache, tmp_path):
    """Either mirror serves when it is the one in the cache; the result names it and its commit."""
    entry = catalog.get_entry(name)
    src = entry.sources[mirror]
    filename = src.filename
    torch.manual_seed(0)
    state = {}
    for key, shape in upstream_srresnet_x4_shapes().items():
        if key.endswith("num_batches_tracked"):
            state["_orig_mod." + key] = torch.tensor(1000)
        else:
            state["_orig_mod." + key] = torch.rand(shape) if "running_var" in key else torch.randn(shape) * 0.02
    path = tmp_path / filename
    torch.save({"state_dict": state}, path)  # the training-checkpoint layout upstream releases
    put_in_cache(fake_cache, src.repo_id, {filename: path}, ref=src.revision)
    loaded = hub.load(name, "hub")
    assert loaded.source == "hub" and loaded.notice is None
    assert loaded.origin == f"{src.repo_id}@{REV}/{filename}"  # the full commit the revision resolved to
    assert loaded.commit == REV and loaded.title == entry.title
    assert [a.ok for a in loaded.attempts] == [False] * mirror + [True]
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
    assert fallback.source == "embedded" and "the Hub did not answer" in fallback.notice
    assert fallback.attempts[0].kind == "unreachable" and "someone/uncached" in fallback.attempts[0].source


def test_reachability_probe_is_cached(monkeypatch):
    import httpx

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise httpx.ConnectError("no route")

    monkeypatch.setattr(httpx, "head", refuse)
    monkeypatch.setattr(hub, "_reachable", {})
    assert hub.hub_reachable(timeout=1) is False
    assert hub.hub_reachable(timeout=1) is False
    assert len(calls) == 1


def test_reachability_probe_counts_any_http_answer(monkeypatch):
    import httpx

    monkeypatch.setattr(httpx, "head", lambda *a, **k: httpx.Response(404))
    monkeypatch.setattr(hub, "_reachable", {})
    assert hub.hub_reachable(timeout=1) is True


def test_embedded_fallback_is_named_by_the_model_that_ran(fake_cache):
    """Offline, the ImageNet SR entries run the embedded models and say so by name."""
    for name, ran in [("srresnet-x4-imagenet", "SRResNet (MSE)"), ("srgan-x4-imagenet", "SRGAN-MSE")]:
        loaded = hub.load(name, "auto")
        assert loaded.source == "embedded" and loaded.title == ran
        assert catalog.get_entry(name).title not in (loaded.title,)


def test_superres_pipeline_labels_what_ran(fake_cache):
    import numpy as np

    from models.superres import upscale

    r = upscale("srresnet-x4-imagenet", np.zeros((8, 8, 3), np.uint8))
    assert r.source == "embedded" and r.title == "SRResNet (MSE)" and "ImageNet" not in r.title


def test_mirror_order_and_sha256_enforced(register, fake_cache, tmp_path, embedded_dir):
    """The first mirror's file fails its pinned sha256; the second serves; both are recorded."""
    cache_mixin_repo(fake_cache, tmp_path, "first/mirror", seed=5)
    cache_mixin_repo(fake_cache, tmp_path, "second/mirror", seed=6)
    good = hub.file_sha256(fake_cache / "models--second--mirror" / "snapshots" / REV / "model.safetensors")
    register(name="mirrored", embedded=str(embedded_dir), sources=(
        HubCheckpoint(repo_id="first/mirror", revision=REV, sha256="0" * 64),
        HubCheckpoint(repo_id="second/mirror", revision=REV, sha256=good)))  # fmt: skip
    loaded = hub.load("mirrored", "hub")
    assert loaded.source == "hub" and loaded.origin.startswith("second/mirror@")
    assert loaded.sha256 == good
    assert torch.equal(loaded.model.conv.weight, seeded_tiny(4, seed=6).conv.weight)
    first, second = loaded.attempts
    assert not first.ok and "sha256" in first.reason and first.kind == "failed"
    assert second.ok


def test_key_mapping_keep_prefix_and_rename(register, fake_cache, tmp_path, embedded_dir):
    state = {"generator." + k.replace("norm.", "bn."): v for k, v in seeded_tiny(4, seed=9).state_dict().items()}
    state["discriminator.head.weight"] = torch.zeros(2)  # training-only part of a GAN checkpoint
    path = tmp_path / "gan.pth"
    torch.save({"params_ema": state}, path)
    put_in_cache(fake_cache, "some/gan", {"gan.pth": path})
    register(name="mapped", embedded=str(embedded_dir), hub=HubCheckpoint(
        repo_id="some/gan", revision=REV, filename="gan.pth", format="torch", config={"width": 4},
        state_dict_key=("params", "params_ema"), keep_prefix="generator.", rename=(("bn.", "norm."),)))  # fmt: skip
    loaded = hub.load("mapped", "hub")
    assert loaded.source == "hub"
    assert torch.equal(loaded.model.norm.weight, seeded_tiny(4, seed=9).norm.weight)


def test_notice_once_per_session_per_model(register, fake_cache, embedded_dir):
    register(name="noisy", embedded=str(embedded_dir), hub=HubCheckpoint(repo_id="someone/absent", revision=REV))
    loaded = hub.load("noisy", "auto")
    assert loaded.notice
    assert hub.notice_once("session-a", loaded) == loaded.notice
    assert hub.notice_once("session-a", loaded) is None
    assert hub.notice_once("session-b", loaded) == loaded.notice
    assert hub.notice_once(None, loaded) == loaded.notice  # no session known: always told


def test_auto_downloads_in_the_background_then_switches(register, fake_cache, tmp_path, embedded_dir,
                                                        monkeypatch):  # fmt: skip
    """A download slower than the request budget: the embedded model answers now, with a notice;
    once the file is in the cache, the next request gets the Hub model."""
    import threading

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    monkeypatch.setattr(hub, "WAIT_SECONDS", 0.2)
    monkeypatch.setattr(hub, "_downloads", {})
    release = threading.Event()
    src = tmp_path / "slow-src"
    seeded_tiny(4, seed=11).save_pretrained(src)

    def slow_download(repo_id, filename, revision=None, **kwargs):
        release.wait(30)
        if not (fake_cache / "models--some--slow").exists():
            put_in_cache(fake_cache, "some/slow", {"config.json": src / "config.json",
                                                   "model.safetensors": src / "model.safetensors"})  # fmt: skip
        return str(fake_cache / "models--some--slow" / "snapshots" / REV / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", slow_download)
    register(name="slow", embedded=str(embedded_dir), hub=HubCheckpoint(repo_id="some/slow", revision=REV))
    first = hub.load("slow", "auto")
    assert first.source == "embedded" and "downloading" in first.notice and first.pending
    release.set()
    for job in hub._downloads.values():
        assert job.done.wait(10)
    second = hub.load("slow", "auto")
    assert second.source == "hub" and second.notice is None
    assert torch.equal(second.model.conv.weight, seeded_tiny(4, seed=11).conv.weight)


def test_prefetch_reports_commit_and_hash_and_fails_clearly(fake_cache, tmp_path, capsys):
    """Offline, a cached entry 'downloads' from the cache (hf_hub_download's offline path) and is
    reported with its commit and sha256; an uncached one fails with a non-zero exit."""
    from models import prefetch

    state = {"_orig_mod." + k: torch.zeros(s) for k, s in upstream_srresnet_x4_shapes().items()}
    path = tmp_path / "SRResNet_x4-ImageNet.pth.tar"
    torch.save({"state_dict": state}, path)
    put_in_cache(fake_cache, "ChangyuLiu/SRGAN-PyTorch", {path.name: path})
    assert prefetch.main(["srresnet-x4-imagenet", "--load"]) == 0
    out = capsys.readouterr().out
    assert f"ChangyuLiu/SRGAN-PyTorch/{path.name} @ {REV}" in out
    assert hub.file_sha256(path) in out and "unpinned: pin revision" in out
    assert prefetch.main(["srgan-x4-imagenet"]) == 1
    assert "FAILED srgan-x4-imagenet" in capsys.readouterr().out
