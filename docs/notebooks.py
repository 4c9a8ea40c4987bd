"""Write each stop of the reading path as a Jupyter notebook: python docs/notebooks.py

The Markdown files are the one source (the test suite runs their code as doctests); each
notebook is made from one of them, next to it (docs/01-tensor-and-backward.ipynb): prose
and equations become Markdown cells, and each ```python block code cells, with the doctest
prompts (>>> and ...) taken off, a new cell after each statement whose output the doctest
shows (a cell displays its last value), and the expected output left for the notebook to
produce. A block whose expected output is a traceback gets the tag "raises-exception", so that
running the whole notebook goes on past it. tests/test_notebooks.py checks that every
notebook is up to date with its Markdown and that it runs from top to bottom.
"""
import json
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
STOPS = sorted(DOCS.glob("0[1-9]-*.md"))
DIRECTIVE = re.compile(r"\s*#\s*doctest:.*$")


def notebook(markdown):
    """The notebook (a dict in nbformat 4) of one stop's Markdown text."""
    cells, prose = [], []
    lines = markdown.split("\n")
    k = 0
    while k < len(lines):
        if lines[k].strip() == "```python":
            end = lines.index("```", k + 1)
            _markdown_cell(cells, prose)
            _code_cell(cells, lines[k + 1:end])
            k = end + 1
            continue
        prose.append(lines[k])
        k += 1
    _markdown_cell(cells, prose)
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"},
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _markdown_cell(cells, prose):
    text = "\n".join(prose).strip("\n")
    prose.clear()
    if text:
        cells.append({"cell_type": "markdown", "id": f"cell-{len(cells)}", "metadata": {}, "source": _source(text)})


def _code_cell(cells, block):
    """Code cells from one doctest block: a new cell after each statement whose output the
    doctest shows, so that the notebook shows it too (a cell displays its last value)."""
    code, raises, in_output = [], False, False
    for line in block + [">>>"]:  # (a last prompt closes the last cell)
        if line.startswith(">>> ") or line == ">>>":
            if in_output and code:
                _add_code(cells, code, raises)
                code, raises = [], False
            in_output = False
            code.append(DIRECTIVE.sub("", line[4:]))
        elif (line.startswith("... ") or line == "...") and not in_output:  # a continuation line
            code.append(DIRECTIVE.sub("", line[4:]))
        else:  # expected output (a "..." there is the ellipsis of a traceback)
            in_output = in_output or bool(line.strip())
            raises = raises or line.startswith("Traceback (most recent call last)")
    if any(line.strip() for line in code):
        _add_code(cells, code, raises)


def _add_code(cells, code, raises):
    metadata = {"tags": ["raises-exception"]} if raises else {}
    cells.append({"cell_type": "code", "execution_count": None, "id": f"cell-{len(cells)}", "metadata": metadata,
                  "outputs": [], "source": _source("\n".join(code).rstrip())})


def _source(text):
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def text_of(nb):
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv=None):
    for path in STOPS:
        target = path.with_suffix(".ipynb")
        target.write_text(text_of(notebook(path.read_text(encoding="utf-8"))), encoding="utf-8")
        print(target)


if __name__ == "__main__":
    sys.exit(main())
