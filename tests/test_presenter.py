"""The presenter layer without a browser: notice levels, provenance footers and records, the
comparison viewer's values, default results computed once, per-session slides, the slide deck,
and the perception-distortion chart's choice of measure."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from demos import presenter
from demos.common import Notice, error, info, notices_markdown, warning
from eval.comparison import provenance_lines, read_provenance, save_with_provenance
from eval.plots import perceptual_measure, superres_perception_distortion
from models.result import PipelineResult, checkpoint_label, provenance_record, result_record


def test_notices_have_their_own_icon_and_colour_per_level():
    md = notices_markdown([info("resized"), warning("fallback model"), error("no model"), "plain <b>"])
    boxes = re.findall(r'<div class="gg-notice gg-notice-(\w+)"[^>]*>(.*?)</div>', md)
    assert [level for level, _ in boxes] == ["info", "warning", "error", "warning"]
    icons = [text.split("</span>")[0][-2:] for _, text in boxes]
    assert icons[0].endswith("ℹ️") and icons[1].endswith("⚠️") and icons[2].endswith("⛔")
    assert len({re.search(r"border-left:4px solid (#\w+)", b).group(1) for b in md.split("\n")[:3]}) == 3
    assert "plain &lt;b&gt;" in md  # text is escaped, never markup
    with pytest.raises(ValueError):
        Notice("x", "debug")


def test_checkpoint_label_names_hub_commit_or_embedded_hash():
    hub = {"source": "hub", "origin": "org/repo@0123abcd/model.safetensors", "commit": "0123abcd" * 5,
           "sha256": "f" * 64, "name": "x"}
    assert checkpoint_label(hub) == f"org/repo@{'0123abcd' * 5}"
    assert checkpoint_label({"source": "embedded", "sha256": "ab" * 32}) == "embedded sha256:" + "ab" * 6
    assert checkpoint_label(None, "classical") == "classical"


def test_export_png_carries_footer_and_the_same_record_as_json(tmp_path):
    r = PipelineResult("srresnet-x4", "SRResNet", np.zeros((8, 8, 3), np.uint8), 0.25, "embedded",
                       checkpoint={"source": "embedded", "sha256": "1234567890abcdef" * 4}, seed=7)
    record = provenance_record("Super-resolution x4", [result_record(r, {"PSNR Y dB": 30.123456})],
                               input_size=(64, 48), date="2026-12-01 10:00 UTC")
    sheet = Image.new("RGB", (300, 100), "white")
    out = save_with_provenance(sheet, tmp_path / "x.png", record)
    assert out.height > sheet.height and out.width >= 720  # the footer, legible even under a narrow sheet
    back = read_provenance(tmp_path / "x.png")
    assert back == json.loads(json.dumps(record))
    lines = provenance_lines(back)
    assert "input 64x48 px" in lines[0] and "2026-12-01 10:00 UTC" in lines[0]
    assert lines[1] == "SRResNet: embedded sha256:1234567890ab · seed 7 · PSNR Y dB 30.12"
    # the footer is drawn: the rows under the sheet are not all white
    footer = np.asarray(out)[sheet.height :]
    assert (footer < 128).any()


def test_comparison_view_values_picks_first_and_last_method(tmp_path):
    a, b, gt = (np.full((4, 4, 3), v, np.uint8) for v in (10, 20, 30))
    zoom, left, right, pair, state = presenter.ComparisonView.values(
        [(a, "Bicubic: 28.1 dB"), (b, "SRGAN: 29.0 dB"), (gt, "Original: PSNR")])
    assert left["value"] == "Bicubic" and right["value"] == "SRGAN"  # not the reference it is scored on
    assert left["choices"] == ["Bicubic", "SRGAN", "Original"]
    assert np.asarray(Image.open(pair[1]))[0, 0, 0] == 20
    assert zoom.count("gg-zoom-frame") == 3 and "28.1 dB" in zoom
    assert presenter.ComparisonView.pick(state, "Original", "Bicubic") == (dict(state)["Original"],
                                                                           dict(state)["Bicubic"])
    assert presenter.ComparisonView.values([])[4] == []
    # a title may hold ": " itself: the numbers follow the last one, so two CycleGAN panels keep their names
    _, left, right, _, _ = presenter.ComparisonView.values(
        [(a, "Input (day): 128x128 px"), (b, "CycleGAN: day → night: 13.88 dB"),
         (b, "CycleGAN: back to day: 21.60 dB"), (gt, "Ground truth: PSNR")])  # fmt: skip
    assert left["choices"] == ["Input (day)", "CycleGAN: day → night", "CycleGAN: back to day", "Ground truth"]
    assert right["value"] == "CycleGAN: back to day"


def test_default_result_is_computed_once_and_recomputed_only_when_its_files_are_gone(tmp_path, monkeypatch):
    calls = []

    def make():
        calls.append(1)
        path = presenter.output_dir("test_default_") / "x.png"
        Image.new("RGB", (2, 2)).save(path)
        return (str(path), "text")

    monkeypatch.setitem(presenter._default_fns, "test", make)
    monkeypatch.delitem(presenter._default_values, "test", raising=False)
    first = presenter.default_result("test")
    assert presenter.default_result("test") is first and len(calls) == 1
    import os

    os.remove(first[0])
    assert presenter.default_result("test") is not first and len(calls) == 2
    presenter._default_values.pop("test", None)


def test_every_visitor_gets_the_default_result_whole(monkeypatch):
    """Gradio consumes the gr.update dicts a handler returns (it pops their "value"): the default
    result, shared by every visitor, must reach the second one with its values too (the slider's
    panel pickers came up blank for every page after the first)."""
    import asyncio

    import gradio as gr

    monkeypatch.delitem(presenter._default_values, "test_whole", raising=False)
    with gr.Blocks() as demo:
        pick = gr.Dropdown([], label="pick")
        text = gr.Textbox()
        presenter.register_default("test_whole", lambda: (gr.update(choices=["a", "b"], value="b"), "t"),
                                   [pick, text])  # fmt: skip
    load = next(f for f in demo.fns.values() if f.name == "load")
    for _visitor in range(2):
        sent = asyncio.run(demo.postprocess_data(load, load.fn(), None))
        assert sent[0]["value"] == "b" and [c[0] for c in sent[0]["choices"]] == ["a", "b"], sent
        assert sent[1] == "t"
    assert presenter._default_values["test_whole"][0] == {"choices": ["a", "b"], "value": "b", "__type__": "update"}
    presenter._default_values.pop("test_whole", None)
    presenter._default_fns.pop("test_whole", None)


class _Req:
    def __init__(self, session):
        self.session_hash = session


def test_slides_are_per_session_with_the_default_as_fallback(tmp_path):
    paths = {}
    for who in ("default", "a", "b"):
        paths[who] = str(tmp_path / f"{who}.png")
        Image.new("RGB", (2, 2)).save(paths[who])
    presenter.remember(None, "superres", "default SR", paths["default"], {"task": "SR"})
    presenter.remember(_Req("a"), "superres", "A's SR", paths["a"], {"task": "SR"})
    presenter.remember(_Req("b"), "translation", "B's day-night", paths["b"], {"task": "T"})
    a = {s["key"]: s["title"] for s in presenter.current_slides(_Req("a"))}
    b = {s["key"]: s["title"] for s in presenter.current_slides(_Req("b"))}
    assert a["superres"] == "A's SR" and "translation" not in a
    assert b["superres"] == "default SR" and b["translation"] == "B's day-night"
    presenter.forget_session(_Req("a"))
    assert {s["key"]: s["title"] for s in presenter.current_slides(_Req("a"))}["superres"] == "default SR"


def test_deck_has_one_slide_per_comparison_and_chart(tmp_path):
    import plotly.graph_objects as go

    png = tmp_path / "s.png"
    Image.new("RGB", (4, 4), "red").save(png)
    slides = [{"key": "superres", "title": "SR", "png": str(png),
               "record": {"task": "SR", "input_size": "4x4 px", "date": "d", "models": []}}]
    deck = presenter.deck_html(slides, [("Chart", go.Figure(go.Bar(y=[1, 2])))])
    assert deck.count("<section class='slide") == 3  # title + comparison + chart
    assert "data:image/png;base64," in deck and "ArrowRight" in deck and "@media print" in deck
    assert "<script src=" not in deck  # self-contained: plotly.js inline
    assert deck.count("Plotly") > 10


def test_perception_distortion_uses_lpips_only_when_measured():
    per = {"p1": {"psnr_y": 30.0, "sharpness": 0.5}, "p2": {"psnr_y": 28.0, "sharpness": 0.9}}
    result = {"date": "2026-12-01", "methods": {"bicubic": {"title": "Bicubic", "per_image": per}}}
    assert perceptual_measure(result) == "sharpness"
    fig = superres_perception_distortion(result)
    assert "not LPIPS" in fig.layout.title.text and list(fig.data[0].y) == [0.5, 0.9]
    for v in per.values():
        v["lpips"] = 0.2
    assert perceptual_measure(result) == "lpips"
    assert "LPIPS" in superres_perception_distortion(result).layout.yaxis.title.text


def test_dashboard_charts_start_their_title_inside_and_long_bar_labels_go_sideways():
    """Every chart as the Evaluation tab draws it: a multi-line title anchored at the chart's very top
    with a pixel padding (it was cut off ~9 px above the chart), the margin and height grown by as
    much; a bar chart whose category labels cannot stand under its columns drawn sideways."""
    import plotly.graph_objects as go

    from demos import evaluation
    from eval.plot_style import layout

    result = {"date": "2026-12-01", "methods": {}}
    short = lambda _r: layout(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), "A title", result, yaxis_title="y")  # noqa: E731
    before = short(result)
    fig = evaluation.chart(short, result)
    assert fig.layout.title.y == 1 and fig.layout.title.pad.t == evaluation.TITLE_PAD_PX
    assert fig.layout.margin.t == before.layout.margin.t + evaluation.TITLE_SHIFT_PX
    assert fig.layout.height == before.layout.height + evaluation.TITLE_SHIFT_PX
    assert fig.data[0].orientation != "h" and not (fig.layout.meta or {}).get("wide")

    names = ["a model with a long name (random weights: the architecture's speed, not the downloaded weights')",
             "another model (embedded)", "a third (embedded): plain forward, before #21"]  # fmt: skip

    def long(_r):
        f = go.Figure()
        for k in range(3):
            f.add_bar(x=names, y=[10.0 * (k + 1), 5.0, 1.0], name=f"size {k}", text=["t"] * 3, textposition="outside")
        return layout(f, "Speed", result, yaxis_title="% of peak", barmode="group")

    fig = evaluation.chart(long, result)
    assert all(t.orientation == "h" and list(t.y) == names for t in fig.data)
    assert list(fig.data[2].x) == [30.0, 5.0, 1.0] and fig.layout.xaxis.range[1] > 30  # room for the bar text
    assert fig.layout.xaxis.title.text == "% of peak" and fig.layout.yaxis.autorange == "reversed"
    ticks = [t.split("<br>") for t in fig.layout.yaxis.ticktext]
    assert len(ticks[0]) == 2 and all(len(line) <= evaluation.SIDEWAYS_LABEL_CHARS for t in ticks for line in t)
    assert fig.layout.meta["wide"] and fig.layout.height >= long(result).layout.height + evaluation.TITLE_SHIFT_PX
    # the committed speed results: 27 models' bars, sideways; every other committed chart upright
    results = evaluation.load_results()
    from eval.tasks import figures

    wide = {(task, make.__name__) for task in results for make in figures(task)
            if (evaluation.chart(make, results[task]).layout.meta or {}).get("wide")}  # fmt: skip
    assert wide <= {("speed", "speed_fraction_of_peak")}
