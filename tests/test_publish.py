"""The publish command's plan, checked without the network."""

from __future__ import annotations

import pytest

from models import publish
from tests.tiny_models import seeded_tiny


def make_checkpoint(root, name, card=True):
    d = root / name
    seeded_tiny().save_pretrained(d)  # writes config.json, model.safetensors and a README.md
    if not card:
        (d / "README.md").unlink()
    (d / "loss_curve.png").write_bytes(b"png")
    return d


def test_plan_lists_repo_per_checkpoint_with_card(tmp_path):
    make_checkpoint(tmp_path, "a-x4")
    make_checkpoint(tmp_path, "b-x4")
    plan = publish.plan_uploads("me", only=["a-x4", "b-x4"], weights_dir=tmp_path)
    assert [u.repo_id for u in plan] == ["me/gan-gallery-a-x4", "me/gan-gallery-b-x4"]
    assert plan[0].files == ["config.json", "model.safetensors", "README.md", "loss_curve.png"]
    assert plan[0].bytes == sum((tmp_path / "a-x4" / f).stat().st_size for f in plan[0].files)


def test_checkpoint_without_model_card_is_refused(tmp_path):
    make_checkpoint(tmp_path, "nocard", card=False)
    with pytest.raises(ValueError, match="README.md"):
        publish.plan_uploads("me", only=["nocard"], weights_dir=tmp_path)


@pytest.mark.parametrize("namespace", ["", "a/b"])
def test_bad_namespace(tmp_path, namespace):
    with pytest.raises(ValueError, match="namespace"):
        publish.plan_uploads(namespace, only=[], weights_dir=tmp_path)


def test_dry_run_touches_nothing(tmp_path, monkeypatch, capsys):
    make_checkpoint(tmp_path, "a-x4")
    monkeypatch.setattr(publish, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(publish, "push", lambda *a, **k: pytest.fail("dry run must not push"))
    assert publish.main(["me", "--only", "a-x4", "--dry-run"]) == 0
    assert "me/gan-gallery-a-x4" in capsys.readouterr().out
