"""What a presenter needs across the tabs: every tab's default result (computed once per process,
reused for every visitor), exports that carry their provenance, the comparison viewer (a zoom
synchronised across the panels of a result, and an image slider between any two of them), the
per-session memory of each tab's current result, and the one-click slide deck of all of them.

Nothing here runs at import or while the app is built: default results are computed on the first
page view (or by `warm_defaults` in a background thread once the server answers)."""

from __future__ import annotations

import base64
import html
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from demos.common import output_dir, output_root
from eval.comparison import provenance_lines, save_with_provenance

logger = logging.getLogger(__name__)

# --- exports with provenance and the per-session memory of slides ---------------------------------

# the deck's order: one slide per comparison, tab by tab
SLIDE_ORDER = ["superres", "dcgan:samples", "dcgan:arithmetic", "dcgan:interpolation", "acgan",
               "text2image:samples", "text2image:interpolation", "text2image:style", "inpainting",
               "translation"]  # fmt: skip
MAX_SESSIONS = 512  # sessions whose current slides are remembered (least recently used dropped)
_slides: OrderedDict[str | None, dict[str, dict]] = OrderedDict()  # session (None: defaults) -> key -> slide
_slides_guard = threading.Lock()


def _session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None) if request is not None else None


def remember(request: gr.Request | None, key: str, title: str, png: str, record: dict) -> None:
    """This session's current result for slide `key` (no session: the process's default result)."""
    session = _session(request)
    with _slides_guard:
        slides = _slides.setdefault(session, {})
        slides[key] = {"title": title, "png": png, "record": record}
        _slides.move_to_end(session)
        while len(_slides) > MAX_SESSIONS + 1:
            oldest = next(k for k in _slides if k is not None)
            _slides.pop(oldest)


def forget_session(request: gr.Request | None) -> None:
    """On unload: drop what a closed page remembered."""
    session = _session(request)
    if session is not None:
        with _slides_guard:
            _slides.pop(session, None)


def current_slides(request: gr.Request | None) -> list[dict]:
    """The slides of this session: its own current result per key, else the default result; in
    SLIDE_ORDER, files that still exist only."""
    session = _session(request)
    with _slides_guard:
        own = dict(_slides.get(session, {})) if session is not None else {}
        defaults = dict(_slides.get(None, {}))
    keys = SLIDE_ORDER + sorted(k for k in {*own, *defaults} if k not in SLIDE_ORDER)
    out = []
    for key in keys:
        for slide in (own.get(key), defaults.get(key)):
            if slide and Path(slide["png"]).is_file():
                out.append({"key": key, **slide})
                break
    return out


def export(sheet: Image.Image, prefix: str, name: str, record: dict, *, request: gr.Request | None = None,
           slide: tuple[str, str] | None = None) -> str:  # fmt: skip
    """Save a comparison sheet for download: its provenance footer drawn in, the record as JSON in
    the PNG; remembered as this session's slide (key, title) when given. Returns the path."""
    path = str(output_dir(prefix) / name)
    save_with_provenance(sheet, path, record)
    if slide is not None:
        remember(request, slide[0], slide[1], path, record)
    return path


# --- default results: once per process --------------------------------------------------------------

_default_fns: dict[str, Callable[[], tuple]] = {}
_default_values: dict[str, tuple] = {}
_default_lock = threading.Lock()  # one default computed at a time (2 cores)


def _files_in(value) -> list[str]:
    """Paths of files in our output cache that a tab's outputs refer to."""
    root = str(output_root())
    found = []

    def walk(v):
        if isinstance(v, str) and v.startswith(root):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(value)
    return found


def default_result(key: str) -> tuple:
    """The outputs of tab `key`'s default action: computed on first use, then reused for every
    visitor (recomputed only if the output cache pruned its files). Files are touched on each use,
    so the cache keeps them while the app is in use."""
    value = _default_values.get(key)
    if value is not None and all(Path(f).is_file() for f in _files_in(value)):
        _touch(_files_in(value))
        return value
    with _default_lock:
        value = _default_values.get(key)
        if value is None or not all(Path(f).is_file() for f in _files_in(value)):
            t = time.perf_counter()
            value = _freeze(_default_fns[key](), output_dir(f"default_{key.replace(':', '_')}_"))
            _default_values[key] = value
            logger.info("default result of %s computed in %.2f s", key, time.perf_counter() - t)
    return value


def _freeze(value, folder: Path):
    """The outputs with every image array written once as a PNG (its path instead): each visitor
    is then sent the same files, with no PNG encoding per page view."""
    count = 0

    def walk(v):
        nonlocal count
        if isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 3:
            count += 1
            path = folder / f"image_{count:03d}.png"
            Image.fromarray(np.ascontiguousarray(v)).save(path)
            return str(path)
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def _fresh(value):
    """A visitor's own copy of a default result's containers. Gradio consumes the gr.update dicts it
    is given (it pops their "value"), so a shared one would reach the next visitor without its value:
    the comparison viewer's panel pickers came up blank for every page after the first."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    return value


def _touch(paths: list[str]) -> None:
    now = time.time()
    for p in paths:
        try:
            os.utime(p, (now, now))
            os.utime(Path(p).parent, (now, now))
        except OSError:
            pass


def register_default(key: str, fn: Callable[[], tuple], outputs: list) -> None:
    """Show `fn()`'s outputs (the tab's default action) in `outputs` when a page opens. Call inside
    build_tab(); fn runs once per process (default_result), never while the app is built. A page
    opened from a permalink (?deep_link=...) keeps the state it was shared with."""
    from gradio.context import Context

    _default_fns[key] = fn
    demo = Context.root_block
    if demo is None:  # built outside gr.Blocks (a test calling build_tab alone)
        return
    # a component listed twice (the tab's slider is also the viewer's) gets its last value
    last = {id(c): i for i, c in enumerate(outputs)}
    keep = [i for i, c in enumerate(outputs) if last[id(c)] == i]
    outputs = [outputs[i] for i in keep]

    def load(from_permalink=False):
        if from_permalink:
            return [gr.skip()] * len(outputs)
        try:
            value = [_fresh(default_result(key)[i]) for i in keep]
        except Exception:  # a default that cannot run (a model missing) leaves the tab empty
            logger.exception("default result of %s failed", key)
            return [gr.skip()] * len(outputs)
        return list(value) if len(outputs) > 1 else value[0]

    flag = _permalink_flag.get(id(demo))
    demo.load(load, [flag] if flag else None, outputs, js=PERMALINK_JS if flag else None, queue=False,
              show_progress="hidden", api_visibility="private")  # fmt: skip


# The page's URL is not sent with events, so the load event asks the browser whether it was opened
# from a permalink; a hidden checkbox (one per app, made by build_toolbar) carries the answer.
PERMALINK_JS = "(x) => new URLSearchParams(window.location.search).has('deep_link')"
_permalink_flag: dict[int, gr.Checkbox] = {}


def warm_defaults(demo: gr.Blocks | None = None, wait_s: float = 60.0) -> None:
    """Compute every registered default result, once the server answers (run in a daemon thread by
    app.serve, so the first visitor finds them ready)."""
    deadline = time.monotonic() + wait_s
    while demo is not None and not getattr(demo, "local_url", None) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # let the first page be served first
    for key in list(_default_fns):
        try:
            default_result(key)
        except Exception:
            logger.exception("default result of %s failed", key)


def consume(stream) -> tuple:
    """The last value of a streaming handler (the tab's final outputs)."""
    last = None
    for last in stream:  # noqa: B007
        pass
    return last


# --- the comparison viewer: synchronised zoom + a slider between two picked panels -----------------

ZOOM_JS = """
const apply = (fx, fy, z) => {
  element.querySelectorAll('.gg-zoom-frame img').forEach(img => {
    img.style.transformOrigin = `${fx * 100}% ${fy * 100}%`;
    img.style.transform = z > 1 ? `scale(${z})` : 'none';
  });
  element.querySelectorAll('.gg-zoom-state').forEach(s => {
    s.textContent = z > 1 ? `${z}x at x ${Math.round(fx * 100)}%, y ${Math.round(fy * 100)}% (click to move, Reset to see all)`
                          : 'click a point on any panel to zoom there on all of them';
  });
};
element.addEventListener('click', ev => {
  const reset = ev.target.closest('.gg-zoom-reset');
  if (reset) { element.dataset.fx = 0.5; element.dataset.fy = 0.5; apply(0.5, 0.5, 1); return; }
  const frame = ev.target.closest('.gg-zoom-frame');
  if (!frame) return;
  const box = frame.getBoundingClientRect();
  const img = frame.querySelector('img');
  const z = parseFloat((element.querySelector('.gg-zoom-level') || {}).value || 4);
  // a click on an already zoomed panel moves the window by where it lands in the original image
  const cur = img.style.transform && img.style.transform !== 'none';
  let fx = (ev.clientX - box.left) / box.width, fy = (ev.clientY - box.top) / box.height;
  if (cur) {
    const ox = parseFloat(element.dataset.fx || 0.5), oy = parseFloat(element.dataset.fy || 0.5), oz = parseFloat(element.dataset.z || z);
    fx = ox + (fx - ox) / oz; fy = oy + (fy - oy) / oz;
  }
  fx = Math.min(1, Math.max(0, fx)); fy = Math.min(1, Math.max(0, fy));
  element.dataset.fx = fx; element.dataset.fy = fy; element.dataset.z = z;
  apply(fx, fy, z);
});
element.addEventListener('change', ev => {
  if (!ev.target.closest('.gg-zoom-level')) return;
  const z = parseFloat(ev.target.value);
  if (element.dataset.fx !== undefined) { element.dataset.z = z; apply(parseFloat(element.dataset.fx), parseFloat(element.dataset.fy), z); }
});
"""
ZOOM_CSS = """
.gg-zoom-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; }
.gg-zoom-panel { margin: 0; }
.gg-zoom-frame { overflow: hidden; aspect-ratio: 1 / 1; background: #f3f4f6; cursor: zoom-in; border-radius: 4px;
                 display: flex; align-items: center; justify-content: center; }
.gg-zoom-frame img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated;
                     transition: transform 0.15s ease-out; user-select: none; }
.gg-zoom-panel figcaption { font-size: 0.85em; text-align: center; margin-top: 2px; line-height: 1.25; }
.gg-zoom-bar { display: flex; gap: 12px; align-items: center; margin-bottom: 6px; font-size: 0.9em; }
.gg-zoom-bar button { padding: 2px 10px; border: 1px solid #d1d5db; border-radius: 4px; background: white; cursor: pointer; }
.gg-zoom-state { color: #4b5563; }
"""


def file_url(path: str) -> str:
    """The URL gradio serves a file of its cache at (relative: works under any root path)."""
    return "gradio_api/file=" + str(path)


def zoom_html(items: list[tuple[str, str, str]], levels: tuple[int, ...] = (2, 4, 8)) -> str:
    """The viewer's HTML for (title, caption, png path) panels."""
    if not items:
        return ""
    options = "".join(f"<option value='{z}'{' selected' if z == 4 else ''}>{z}x</option>" for z in levels)
    figures = "".join(
        f"<figure class='gg-zoom-panel'><div class='gg-zoom-frame'><img src='{html.escape(file_url(path))}' "
        f"alt='{html.escape(title)}' draggable='false'></div><figcaption><b>{html.escape(title)}</b><br>"
        f"{html.escape(caption)}</figcaption></figure>"
        for title, caption, path in items
    )
    return (f"<div class='gg-zoom'><div class='gg-zoom-bar'><b>Synchronised zoom</b> <label>zoom "
            f"<select class='gg-zoom-level'>{options}</select></label><button class='gg-zoom-reset' "
            f"type='button'>Reset</button><span class='gg-zoom-state'>click a point on any panel to zoom "
            f"there on all of them</span></div><div class='gg-zoom-grid'>{figures}</div></div>")  # fmt: skip


REFERENCE_TITLES = ("Original", "Ground truth")


class ComparisonView:
    """Under a tab's results: the synchronised zoom over all its panels and an image slider between
    two panels the person picks. It reads the panels from the tab's result gallery (`wire(gallery,
    event)` chains it after the tab's action), so the tab's API outputs stay as they are."""

    def __init__(self, what: str = "panel", slider: gr.ImageSlider | None = None) -> None:
        with gr.Accordion("Compare: synchronised zoom, and a slider between any two panels", open=True):
            self.zoom = gr.HTML("", js_on_load=ZOOM_JS, css_template=ZOOM_CSS, elem_classes="gg-zoom-view",
                                padding=False)  # fmt: skip
            with gr.Row(equal_height=True):
                self.left = gr.Dropdown([], label=f"Slider: left {what}", scale=1, elem_classes="gg-pick-left")
                self.right = gr.Dropdown([], label=f"Slider: right {what}", scale=1, elem_classes="gg-pick-right")
            if slider is None:
                slider = gr.ImageSlider(label="Drag the handle: left pick ↔ right pick", type="filepath", elem_classes="gg-slider",
                                        max_height=520)  # fmt: skip
            else:
                slider.render()
            self.slider = slider
            self.state = gr.State([])  # [(title, path)] of this session's current panels
        for dropdown in (self.left, self.right):
            dropdown.input(self.pick, [self.state, self.left, self.right], self.slider, show_progress="hidden",
                           api_visibility="private", queue=False)  # fmt: skip

    @property
    def outputs(self) -> list:
        return [self.zoom, self.left, self.right, self.slider, self.state]

    def wire(self, gallery: gr.Gallery, event) -> None:
        """After the tab's action (`event`, its click): read the gallery into the viewer."""
        event.then(self.from_gallery, gallery, self.outputs, show_progress="hidden", api_visibility="private",
                   queue=False)  # fmt: skip

    @staticmethod
    def pick(panels, left, right):
        paths = dict(panels or [])
        if left not in paths or right not in paths:
            return gr.skip()
        return (paths[left], paths[right])

    @staticmethod
    def from_gallery(items) -> tuple:
        return ComparisonView.values(items or [])

    @staticmethod
    def values(items: list, left: int = 0, right: int = -1) -> tuple:
        """(zoom HTML, left dropdown, right dropdown, slider pair, state) for gallery items: (image,
        caption) with image a path of gradio's cache or an (H, W, 3) array (written once as PNG),
        caption "Title: numbers" (the title may hold ": " itself). Titles are made unique; the
        slider starts at the first vs the last."""
        if not items:
            return "", gr.update(choices=[], value=None), gr.update(choices=[], value=None), None, []
        folder = None
        panels, seen = [], set()
        for i, item in enumerate(items):
            image, caption = (item if isinstance(item, (list, tuple)) else (item, ""))[:2]
            if isinstance(image, dict):  # a gallery value sent as FileData
                image = image.get("path") or (image.get("image") or {}).get("path")
            if isinstance(image, np.ndarray):
                folder = folder or output_dir("view_")
                path = str(folder / f"panel_{i:02d}.png")
                Image.fromarray(np.ascontiguousarray(image)).save(path)
                image = path
            # the numbers follow the last ": " ("CycleGAN: back to day: 21.60 dB" is its own panel)
            title, sep, rest = str(caption or f"Panel {i + 1}").rpartition(": ")
            if not sep:
                title, rest = rest, ""
            while title in seen:
                title += " ′"
            seen.add(title)
            panels.append((title, rest, str(image)))
        titles = [t for t, _, _ in panels]
        state = [(t, path) for t, _, path in panels]
        if right == -1 and len(titles) > 2 and titles[-1] in REFERENCE_TITLES:
            right = -2  # the last method, not the reference it is scored against
        a, b = titles[left], titles[right]
        paths = dict(state)
        return (zoom_html(panels), gr.update(choices=titles, value=a), gr.update(choices=titles, value=b),
                (paths[a], paths[b]), state)  # fmt: skip


# --- the app's stylesheet -------------------------------------------------------------------------

FIGURE = "gg-figure"  # elem_classes of an output image whose top row holds headings (a composed sheet)
APP_CSS = f"""
/* gradio floats an image's label (top left) and its buttons (top right) over the image itself: a
   sheet's headings start below them */
.{FIGURE} .image-frame {{ padding-top: 30px; box-sizing: border-box; height: 100%; }}
/* a table's headers break between words only, and a column is never narrower than ~9 characters:
   left to gradio, a column with empty cells shrank to one letter and its header ran down a letter
   a line */
th.header-cell {{ min-width: 9ch !important; }}
.header-text.wrap {{ word-break: normal !important; overflow-wrap: normal !important; }}
"""


# --- the slide deck --------------------------------------------------------------------------------

DECK_CSS = """
html, body { margin: 0; background: #111827; font-family: DejaVu Sans, Helvetica, Arial, sans-serif; }
.slide { display: none; box-sizing: border-box; width: 100vw; height: 100vh; padding: 3vh 4vw; background: white;
         flex-direction: column; }
.slide.active { display: flex; }
.slide h2 { margin: 0 0 1vh 0; font-size: 2.2vw; color: #111827; }
.slide .body { flex: 1; min-height: 0; display: flex; align-items: center; justify-content: center; }
.slide .body img { max-width: 100%; max-height: 100%; object-fit: contain; }
.slide .body .chart { width: 100%; height: 100%; }
.slide .foot { font-size: 0.9vw; color: #4b5563; margin-top: 1vh; }
.slide.title-slide .body { flex-direction: column; }
.slide.title-slide h1 { font-size: 4vw; margin: 0; }
.nav { position: fixed; bottom: 10px; right: 16px; color: #9ca3af; font-size: 13px; }
@media print {
  @page { size: landscape; margin: 0; }
  html, body { background: white; }
  .slide { display: flex !important; page-break-after: always; break-after: page; height: 100vh; }
  .nav { display: none; }
}
"""
DECK_JS = """
const slides = Array.from(document.querySelectorAll('.slide'));
let at = 0;
function show(i) {
  at = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, k) => s.classList.toggle('active', k === at));
  document.querySelector('.nav').textContent = `${at + 1} / ${slides.length} · ← → to move · Ctrl+P prints one slide per page`;
  window.dispatchEvent(new Event('resize'));  // plotly charts size themselves to a visible slide
}
document.addEventListener('keydown', e => {
  if (['ArrowRight', 'PageDown', ' '].includes(e.key)) { show(at + 1); e.preventDefault(); }
  if (['ArrowLeft', 'PageUp'].includes(e.key)) { show(at - 1); e.preventDefault(); }
  if (e.key === 'Home') show(0);
  if (e.key === 'End') show(slides.length - 1);
});
window.addEventListener('beforeprint', () => window.dispatchEvent(new Event('resize')));
show(0);
"""


def deck_html(slides: list[dict], charts: list[tuple[str, object]], title: str = "GAN Gallery") -> str:
    """One self-contained HTML deck: a title slide, one slide per comparison (its PNG inlined, with
    its provenance under it), one per chart (plotly.js inlined once). Arrow keys move; the print
    stylesheet puts one slide on each page."""
    import datetime

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{DECK_CSS}</style></head><body>",
             "<section class='slide title-slide active'><div class='body'>"
             f"<h1>{html.escape(title)}</h1><p>Classic GAN methods side by side, measured honestly.</p>"
             f"<p>{len(slides)} comparisons and {len(charts)} evaluation charts · exported {when}</p>"
             "</div></section>"]  # fmt: skip
    for s in slides:
        data = base64.b64encode(Path(s["png"]).read_bytes()).decode()
        foot = " · ".join(provenance_lines(s["record"])[:1])
        parts.append(f"<section class='slide' data-key='{html.escape(s['key'])}'><h2>{html.escape(s['title'])}</h2>"
                     f"<div class='body'><img alt='{html.escape(s['title'])}' src='data:image/png;base64,{data}'>"
                     f"</div><div class='foot'>{html.escape(foot)}</div></section>")  # fmt: skip
    first = True
    for chart_title, fig in charts:
        fig = fig.update_layout(height=None, width=None, autosize=True)
        div = fig.to_html(full_html=False, include_plotlyjs="inline" if first else False,
                          default_width="100%", default_height="100%", config={"responsive": True})  # fmt: skip
        first = False
        parts.append(f"<section class='slide chart-slide'><h2>{html.escape(chart_title)}</h2>"
                     f"<div class='body'><div class='chart'>{div}</div></div></section>")  # fmt: skip
    parts.append(f"<div class='nav'></div><script>{DECK_JS}</script></body></html>")
    return "\n".join(parts)


def export_deck(request: gr.Request | None = None) -> str:
    """The deck of this session's current results (a tab not used yet shows its default result)
    and the Evaluation tab's key charts; its path in the output cache."""
    from demos import evaluation

    slides = current_slides(request)
    charts = evaluation.key_charts()
    if not slides and not charts:
        raise gr.Error("Nothing to put in a deck yet: run a tab first.")
    path = output_dir("deck_") / "gan_gallery_slides.html"
    path.write_text(deck_html(slides, charts), encoding="utf-8")
    return gr.update(value=str(path), visible=True)


def build_toolbar() -> None:
    """The row above the tabs: a permalink to this page's current state and the slide deck."""
    from gradio.context import Context

    if Context.root_block is not None:
        _permalink_flag[id(Context.root_block)] = gr.Checkbox(False, visible=False, label="opened from a permalink")
    with gr.Row(elem_classes="gg-toolbar"):
        gr.DeepLinkButton("Copy a link to this comparison", copied_value="Link copied", size="sm", scale=0,
                          min_width=240)  # fmt: skip
        deck = gr.Button("Export slide deck (HTML)", size="sm", scale=0, min_width=220, variant="primary")
        gr.Markdown("<small>The link reopens this page with every tab's current inputs and results (valid while "
                    "the server keeps its files, about 15 minutes). The deck has one slide per comparison of every "
                    "tab and the key evaluation charts; arrow keys move, the browser prints it one slide per page."
                    "</small>", scale=1)  # fmt: skip
        deck_file = gr.File(label="Slide deck", interactive=False, visible=False, scale=0, min_width=260)
    deck.click(export_deck, None, deck_file, api_name="slide_deck", concurrency_limit=1, concurrency_id="deck")
