"""Draw the computation graph behind a tensor: which ops made it, from which tensors.

    loss = model(x).sum()
    minigrad.draw_graph(loss, "mlp.png", names=dict(model.named_parameters()))

Boxes are tensors, with their shape and dtype: green for leaves that require grad (the
parameters and inputs whose .grad backward fills), grey for intermediate results, white for
constants (no gradient flows into them; shown while something still holds them, since the
graph itself keeps only what backward needs); ellipses are ops (the Function's name). Edges run the way the forward
pass did, so the backward pass walks them in reverse. Draw before calling backward(): the
backward frees the graph as it goes, unless it was called with retain_graph=True.

to_dot() gives the graph as Graphviz's DOT text; draw_graph() renders it with Graphviz's
``dot`` program, which is a system package (apt-get install graphviz, brew install graphviz,
conda install graphviz).
"""
import os
import shutil
import subprocess

from .tensor import Function, Tensor


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program, which renders the picture, is not installed."""


def to_dot(root, names=None):
    """The graph that produced ``root``, as DOT text. ``names`` maps labels to tensors (for
    example ``dict(model.named_parameters())``) so that parameters show their names."""
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(root).__name__}")
    label_of = {id(t): name for name, t in (names or {}).items()}
    lines = ["digraph minigrad {", '  rankdir="LR";', '  node [fontname="Helvetica", fontsize=11];']
    if root._ctx is None:
        lines.append(_box(f"t{id(root)}", label_of.get(id(root), "leaf"), root.shape, root.dtype, _color(root)))
    seen, stack = set(), [root._ctx] if root._ctx is not None else []
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if fn._freed:
            raise RuntimeError("to_dot: this graph was freed by backward(); draw it before backward(), "
                               "or call backward(retain_graph=True)")
        op, out = f"op{id(fn)}", f"out{id(fn)}"  # an op, and the tensor it made
        is_root = fn is root._ctx
        lines.append(f'  {op} [label="{fn.name}", shape=ellipse, style=filled, fillcolor="#dbe9f6"];')
        lines.append(_box(out, "output" if is_root else "", *fn.output_meta, "#f0f0f0"))
        lines.append(f"  {op} -> {out};")
        for parent, ref in zip(fn.parents, fn.input_refs):
            if isinstance(parent, Function):
                lines.append(f"  out{id(parent)} -> {op};")
                stack.append(parent)
                continue
            tensor = parent if parent is not None else ref()
            if tensor is None:  # a constant that no one holds any more
                continue
            name = label_of.get(id(tensor), "leaf" if tensor.requires_grad else "constant")
            lines.append(_box(f"t{id(tensor)}", name, tensor.shape, tensor.dtype, _color(tensor)))
            lines.append(f"  t{id(tensor)} -> {op};")
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


def _box(node_id, title, shape, dtype, color):
    size = "×".join(str(n) for n in shape) or "scalar"
    label = f"{title}\\n{size} {dtype}" if title else f"{size} {dtype}"
    return f'  {node_id} [label="{label}", shape=box, style=filled, fillcolor="{color}"];'


def _color(t):
    return "#c7e9c0" if t.requires_grad else "#ffffff"  # green: a leaf whose .grad backward fills


def _unique(lines):
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out
