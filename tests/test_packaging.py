"""What Hugging Face Spaces reads must agree with what we install."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_spaces_header_matches_requirements():
    readme = (ROOT / "README.md").read_text()
    header = readme.split("---")[1]
    fields = dict(re.findall(r"^(\w+): *\"?([^\"\n]+)\"?$", header, flags=re.M))
    pins = dict(re.findall(r"^([\w-]+)==([\w.]+)$", (ROOT / "requirements.txt").read_text(), re.M))
    assert fields["sdk"] == "gradio"
    assert fields["sdk_version"] == pins["gradio"]
    assert fields["app_file"] == "app.py" and (ROOT / "app.py").is_file()
    assert fields["python_version"] == "3.11"


def test_embedded_checkpoints_are_small_safetensors_with_cards():
    for d in (ROOT / "models" / "weights").iterdir():
        if not d.is_dir():
            continue
        assert (d / "model.safetensors").stat().st_size < 10 * 2**20, d.name
        assert (d / "config.json").is_file() and (d / "README.md").is_file(), d.name
        assert not list(d.glob("*.pt*")) and not list(d.glob("*.bin")), d.name
