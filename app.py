"""GAN Gallery: the classic GAN image methods side by side. `python app.py` serves it on :7860.

Importing this module is cheap: gradio and the tabs (torch, the models' code) are imported when the
app is built, and models load on first use (issue #21: `import app` under 3 s).
"""

from __future__ import annotations

import logging
import os

INTRO = """# GAN Gallery
Classic GAN image methods side by side, on models this project trains and ships (and larger Hub
checkpoints when the machine can reach the Hub). Every number says what it was computed on."""


# gradio's cache (uploads, outputs it saved itself): checked every 5 minutes, files over 15 minutes
# old removed. Our own per-request files are pruned by age and size (demos.common.prune_outputs).
DELETE_CACHE = (300, 900)


def tabs() -> list:
    """The tab modules, in order (a tab is listed here once it works end to end)."""
    from demos import checkpoints, dcgan, evaluation, inpainting, superres, text2image, translation

    return [superres, dcgan, text2image, inpainting, translation, evaluation, checkpoints]


def __getattr__(name: str):  # app.TABS, imported on first use
    if name == "TABS":
        return tabs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_app():
    """The gr.Blocks of the whole app (not launched)."""
    import gradio as gr

    from demos import presenter

    with gr.Blocks(title="GAN Gallery", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        presenter.build_toolbar()
        with gr.Tabs():
            for tab in tabs():
                with gr.Tab(tab.TITLE) as page:
                    built = tab.build_tab()
                if hasattr(tab, "refresh_on_select"):  # a tab showing server state re-reads it when opened
                    tab.refresh_on_select(page, built)
        demo.unload(presenter.forget_session)
    return demo


def serve(demo, warm_defaults: bool = False, **launch_kwargs):
    """queue() and launch() with the app's limits: the tabs' model work 2 jobs at a time in all
    (2 cores; demos.serving.share_cpu), a fair queue (a few places per session, capped per event
    and per group), request bodies capped before they are read, 25 MB per file, and no internal
    error text (paths, exceptions) shown to users: what a person can act on is a gr.Error with its
    own message; image outputs cached without a truncate-and-rewrite race (serving.atomic_image_cache).
    warm_defaults: compute every tab's default result in a background thread once the server
    answers (else on the first page view)."""
    import threading

    from demos import presenter, serving

    serving.share_cpu(demo)
    serving.atomic_image_cache()
    demo.queue(default_concurrency_limit=2, max_size=serving.QUEUE_MAX_SIZE)
    serving.install_fair_queue(demo)
    launch_kwargs.setdefault("show_error", False)
    launch_kwargs.setdefault("css", presenter.APP_CSS)
    if warm_defaults:
        threading.Thread(target=presenter.warm_defaults, args=(demo,), name="warm-defaults", daemon=True).start()
    return demo.launch(max_file_size="25mb", app_kwargs={"middleware": serving.body_limit_middleware()},
                       **launch_kwargs)  # fmt: skip


def main() -> None:
    import gradio as gr

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(build_app(), warm_defaults=os.environ.get("GAN_GALLERY_WARM", "1") != "0", server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
          server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), theme=gr.themes.Soft())


if __name__ == "__main__":
    main()
