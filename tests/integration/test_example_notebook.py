"""examples/track_record.ipynb runs headless against a fresh demo workspace, as an analyst
would open it, and shows what it says it shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "track_record.ipynb"


def test_the_notebook_is_committed_without_outputs() -> None:
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_the_notebook_runs_on_a_fresh_demo_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    home = tmp_path / "demo"
    subprocess.run([sys.executable, "-m", "trackrecord", "demo", str(home), "--years", "2", "--seed", "7"],
                   check=True, capture_output=True, timeout=300)
    monkeypatch.setenv("TRACKRECORD_HOME", str(home))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "SIMULATED account SIM0001" in text and "round trips" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2, "the equity curve and the underwater curve"
    assert os.environ["TRACKRECORD_HOME"] == str(home)
