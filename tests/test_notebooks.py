"""Each stop of the reading path is also a notebook, made from its Markdown (docs/notebooks.py):
every notebook is up to date with its Markdown, and runs from top to bottom (nbclient, with
the ipykernel of this environment), so that neither can go stale."""
import importlib.util
import json
import pathlib

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
spec = importlib.util.spec_from_file_location("notebooks", DOCS / "notebooks.py")
notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebooks)
STOPS = [p.stem for p in notebooks.STOPS]


def test_there_is_a_stop_per_markdown_file():
    assert len(STOPS) == 8


@pytest.mark.parametrize("stop", STOPS)
def test_the_notebook_is_made_from_the_markdown_as_it_is_now(stop):
    markdown = (DOCS / f"{stop}.md").read_text(encoding="utf-8")
    path = DOCS / f"{stop}.ipynb"
    assert path.exists(), f"{path.name} is missing: run python docs/notebooks.py"
    assert path.read_text(encoding="utf-8") == notebooks.text_of(notebooks.notebook(markdown)), \
        f"{path.name} is older than {stop}.md: run python docs/notebooks.py"


@pytest.mark.parametrize("stop", STOPS)
def test_the_notebook_runs_from_top_to_bottom(stop):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[test]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")
    nb = nbformat.reads(json.dumps(json.loads((DOCS / f"{stop}.ipynb").read_text(encoding="utf-8"))), as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(DOCS)}}).execute()
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    errors = [cell.source[:60] for cell in code if any(o.get("output_type") == "error" for o in cell.outputs)
              and "raises-exception" not in cell.metadata.get("tags", [])]
    assert not errors, errors
