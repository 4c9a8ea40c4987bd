"""The documentation stays true: the API reference builds without warnings, the wheel ships
the licence, the changelog names the version, and every file a document points at exists.
(The reading path's code runs as doctests: pytest collects docs/*.md, see setup.cfg.)"""
import os
import re
import subprocess
import sys
import zipfile

import pytest

import minigrad

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCUMENTS = ["README.md", "CHANGELOG.md", "examples/README.md", "benchmarks/README.md"] + [
    os.path.join("docs", name) for name in sorted(os.listdir(os.path.join(ROOT, "docs"))) if name.endswith(".md")]


def test_the_api_reference_builds_without_warnings(tmp_path):
    pytest.importorskip("pdoc", reason="pdoc is not installed (pip install -e '.[docs]')")
    result = subprocess.run([sys.executable, "-W", "error", "-m", "pdoc", "minigrad", "-o", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, MINIGRAD_KERNELS="reference"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "warn" not in result.stderr.lower(), result.stderr[-3000:]
    for page in ("minigrad.html", "minigrad/tensor.html", "minigrad/ops/conv.html", "minigrad/nn.html"):
        assert (tmp_path / page).stat().st_size > 1000


def test_the_changelog_names_this_version():
    changelog = open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8").read()
    assert re.search(rf"^## {re.escape(minigrad.__version__)} \(\d{{4}}-\d\d-\d\d\)$", changelog, re.M)


def test_the_wheel_ships_the_licence(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), ROOT], capture_output=True, text=True)
    if result.returncode != 0 and "No module named" in result.stderr:
        pytest.skip(f"cannot build a wheel here: {result.stderr.strip()[-200:]}")
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("minigrad-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        licences = [n for n in archive.namelist() if n.endswith("LICENSE")]
        assert licences and b"MIT License" in archive.read(licences[0])
        assert f"Version: {minigrad.__version__}".encode() in archive.read(
            next(n for n in archive.namelist() if n.endswith("METADATA")))


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_file_a_document_points_at_exists(document):
    text = open(os.path.join(ROOT, document), encoding="utf-8").read()
    here = os.path.dirname(os.path.join(ROOT, document))
    links = re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text)  # [text](relative/path), not URLs
    for link in links:
        assert os.path.exists(os.path.join(here, link)), f"{document} links to {link}, which does not exist"
    for path in set(re.findall(r"`((?:minigrad|examples|benchmarks|tests|docs)/[\w/.-]+\.(?:py|md|sh))", text)):
        assert os.path.exists(os.path.join(ROOT, path)), f"{document} names {path}, which does not exist"


def test_the_readmes_python_blocks_run(tmp_path):
    """The taste, the hand-written update and the gradcheck example of README.md, in order,
    in a fresh process (one block switches the kernels)."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) >= 3
    script = tmp_path / "readme_blocks.py"
    script.write_text("\n".join(blocks) + "\nprint('ran', float(loss))\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ran")


def test_the_derivations_render_as_blocks_in_the_api_reference():
    """An equation indented under a line of prose, with no blank line between, runs into that
    paragraph in the rendered reference (Markdown): batch norm's, the recurrent cells' and
    BCE's derivations once did."""
    import ast
    import pathlib

    run_on = []
    for path in sorted((pathlib.Path(ROOT) / "minigrad" / "ops").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module)) or not ast.get_docstring(node):
                continue
            in_block, previous = False, ""
            for line in ast.get_docstring(node, clean=True).split("\n"):
                if line.startswith("    ") and line.strip() and not in_block:
                    if previous.strip():
                        run_on.append(f"{path.name}: {getattr(node, 'name', 'module')}: {line.strip()[:40]}")
                    in_block = True
                elif line.strip() and not line.startswith(" "):
                    in_block = False
                previous = line
    assert not run_on, "indented blocks right after prose (add a blank line before them):\n" + "\n".join(run_on)
