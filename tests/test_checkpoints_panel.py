"""The checkpoint health panel: one row per catalog entry, filled in from what actually loaded."""

from __future__ import annotations

from demos import checkpoints
from models import hub
from models.catalog import CATALOG
from tests.test_hub import fake_cache  # noqa: F401


def test_every_entry_has_a_row_and_loads_fill_it(fake_cache):  # noqa: F811
    before = checkpoints.health_rows()
    assert list(before["Model"]) == list(CATALOG)
    assert set(before["Status"]) == {"not loaded yet"}
    hub.load("srresnet-x4-imagenet")  # offline: falls back to the embedded model
    row = checkpoints.health_rows().set_index("Model").loc["srresnet-x4-imagenet"]
    assert row["Status"] == "loaded (embedded)" and row["Ran as"] == "SRResNet (MSE)"
    assert "ChangyuLiu/SRGAN-PyTorch/SRResNet_x4-ImageNet.pth.tar@main (unpinned): ✗" in row["Sources tried (in order)"]
    assert row["Sources tried (in order)"].index("ChangyuLiu") < row["Sources tried (in order)"].index("goodfellowliu")
    assert len(row["sha256"]) == 64 and row["Why a fallback"].startswith("SRResNet (MSE, ImageNet): not in the local cache")


def test_hub_only_failure_and_recheck(fake_cache):  # noqa: F811
    try:
        hub.load("esrgan-x4")
    except hub.ModelUnavailable:
        pass
    row = checkpoints.health_rows().set_index("Model").loc["esrgan-x4"]
    assert row["Status"] == "unavailable" and "not available" in row["Why a fallback"]
    hub.load("srgan-x4-imagenet")
    _, message = checkpoints.recheck()
    assert message.startswith("1 fallback")


def test_tab_builds():
    import gradio as gr

    with gr.Blocks():
        checkpoints.build_tab()


def test_opening_the_tab_rereads_the_table():
    """The app wires the Checkpoints tab's select event to health_rows, so a visitor who opens it
    after the default results have loaded their models sees them loaded (not the page-load copy)."""
    import gradio as gr

    import app

    demo = app.build_app()
    page = next(b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.label == checkpoints.TITLE)
    on_select = [f for f in demo.fns.values() if (page._id, "select") in f.targets]
    assert len(on_select) == 1 and on_select[0].fn is checkpoints.health_rows
    (table,) = on_select[0].outputs
    assert isinstance(table, gr.Dataframe) and table.label == "Checkpoint health"
