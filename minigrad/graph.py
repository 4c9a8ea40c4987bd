"""Draw the computation graph behind a tensor: which ops made it, from which tensors.

    loss = model(x).sum()
    minigrad.draw_graph(loss, "mlp.png", names=dict(model.named_parameters()))

Boxes are tensors, with their shape and dtype: green for leaves that require grad (the
parameters and inputs whose .grad backward fills), grey for intermediate results, white for
constants (no gradient flows into them); ellipses are ops (the Function's name). Edges run the way the forward
pass did, so the backward pass walks them in reverse. Draw before calling backward(): the
backward frees the graph as it goes, unless it was called with retain_graph=True.

to_dot() gives the graph as Graphviz's DOT text; draw_graph() renders it with Graphviz's
``dot`` program, which is a system package (apt-get install graphviz, brew install graphviz,
conda install graphviz).
"""
import os
import shutil
import subprocess

from .tensor import Tensor


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program, which renders the picture, is not installed."""


def to_dot(root, names=None):
    """The graph that produced ``root``, as DOT text. ``names`` maps labels to tensors (for
    example ``dict(model.named_parameters())``) so that parameters show their names."""
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(root).__name__}")
    label_of = {id(t): name for name, t in (names or {}).items()}
    lines = ["digraph minigrad {", '  rankdir="LR";', '  node [fontname="Helvetica", fontsize=11];']
    seen, stack = set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        lines.append(_tensor_node(t, label_of.get(id(t)), is_output=t is root))
        fn = t._ctx
        if fn is None:
            continue
        if fn._freed:
            raise RuntimeError("to_dot: this graph was freed by backward(); draw it before backward(), "
                               "or call backward(retain_graph=True)")
        op = f"op{id(fn)}"
        lines.append(f'  {op} [label="{fn.name}", shape=ellipse, style=filled, fillcolor="#dbe9f6"];')
        lines.append(f"  {op} -> t{id(t)};")
        for parent in fn.inputs:
            lines.append(f"  t{id(parent)} -> {op};")
            stack.append(parent)
    lines.append("}")
    return "\n".join(_unique(lines)) + "\n"


def draw_graph(root, path, names=None):
    """Render the graph of ``root`` to ``path``: the format comes from its suffix (.png, .svg
    or .pdf). Returns the path. Needs Graphviz's ``dot`` program (see the module docstring)."""
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"draw_graph: {path}: give a file name ending in .png, .svg or .pdf")
    source = to_dot(root, names)
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFound("draw_graph needs Graphviz's 'dot' program, which is not installed: "
                               "apt-get install graphviz (or brew/conda install graphviz); "
                               "minigrad.to_dot(tensor) gives the DOT text without it")
    result = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=source.encode(), capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"draw_graph: dot failed on {path}: {result.stderr.decode().strip()}")
    return path


def _tensor_node(t, name, is_output):
    shape = "×".join(str(n) for n in t.shape) or "scalar"
    title = name or ("output" if is_output else "" if t._ctx is not None else "leaf" if t.requires_grad else "constant")
    label = f"{title}\\n{shape} {t.dtype}" if title else f"{shape} {t.dtype}"
    color = "#c7e9c0" if t.requires_grad and t._ctx is None else "#ffffff" if not t.requires_grad else "#f0f0f0"
    return f'  t{id(t)} [label="{label}", shape=box, style=filled, fillcolor="{color}"];'


def _unique(lines):
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out
