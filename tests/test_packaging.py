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


def test_readme_checkpoint_table_lists_every_hub_source():
    """The README's table of Hub entries (sources, where their parameter names were checked, what
    could not be checked offline) names every source the catalog tries and the upstream file of
    every documented key mapping, so a new entry cannot go undocumented."""
    from models.catalog import CATALOG

    section = (ROOT / "README.md").read_text().split("## Checkpoints", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    for entry in CATALOG.values():
        for source in entry.sources:
            row = next((r for r in rows if source.repo_id in r), None)
            assert row is not None, f"{entry.name}: {source.repo_id} is not in the README's checkpoint table"
            if source.keys_from:
                upstream_file = source.keys_from.split(" @ ")[0].split()[-1]
                assert upstream_file in row.replace("`", ""), f"{entry.name}: {upstream_file} not in its row"
