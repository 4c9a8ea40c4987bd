"""Draw the computation graph behind a tensor: which ops made it, from which tensors.

    loss = model(x).sum()
    minigrad.draw_graph(loss, "mlp.png", names=dict(model.named_parameters()))

Boxes are tensors, with their shape and dtype: green for leaves that require grad (the
parameters and inputs whose .grad backward fills), grey for intermediate results, white for
constants (no gradient flows into them; a constant that nothing holds any more, since the
graph keeps only what backward needs, is drawn without its shape); ellipses are ops (the
Function's name). Edges run the way the forward pass did, one per input, numbered by its
position: ``x * x`` has two edges from x. So the backward pass walks them in reverse, and a
tensor used twice gets the sum of two gradients. ``values=True`` also writes the values and
gradients of small tensors (at most 8 elements) into their boxes, as micrograd's draw_dot
does: the leaves, the root, and intermediate results that retain_grad() keeps. Draw before
calling backward() (or after one with retain_graph=True): the backward frees the graph.

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


def to_dot(root, names=None, values=False):
    """The graph that produced ``root``, as DOT text. ``names`` maps labels to tensors (for
    example ``dict(model.named_parameters())``) so that parameters show their names;
    ``values`` writes small tensors' values and gradients into their boxes."""
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(root).__name__}")
    label_of = {id(t): name for name, t in (names or {}).items()}
    lines = ["digraph minigrad {", '  rankdir="LR";', '  node [fontname="Helvetica", fontsize=11];']
    if root._ctx is None:
        lines.append(_box(f"t{id(root)}", label_of.get(id(root), "leaf"), root, _color(root), values))
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
        made = root if is_root else fn.__dict__.get("output")  # (an op keeps its output only for retain_grad)
        lines.append(f'  {op} [label="{fn.name}", shape=ellipse, style=filled, fillcolor="#dbe9f6"];')
        lines.append(_box(out, "output" if is_root else "", made, "#f0f0f0", values, meta=fn.output_meta))
        lines.append(f"  {op} -> {out};")
        several = len(fn.parents) > 1
        for i, (parent, ref) in enumerate(zip(fn.parents, fn.input_refs)):
            edge = f' [label="{i}"]' if several else ""
            if isinstance(parent, Function):
                lines.append(f"  out{id(parent)} -> {op}{edge};")
                stack.append(parent)
                continue
            tensor = parent if parent is not None else ref()
            if tensor is None:  # a constant that no one holds any more: its box, without its shape
                lines.append(f'  c{id(fn)}_{i} [label="constant", shape=box, style="filled,dashed", '
                             f'fillcolor="#ffffff"];')
                lines.append(f"  c{id(fn)}_{i} -> {op}{edge};")
                continue
            name = label_of.get(id(tensor), "leaf" if tensor.requires_grad else "constant")
            lines.append(_box(f"t{id(tensor)}", name, tensor, _color(tensor), values))
            lines.append(f"  t{id(tensor)} -> {op}{edge};")
    lines.append("}")
    return "\n".join(_unique(lines)) + "\n"


def draw_graph(root, path, names=None, values=False):
    """Render the graph of ``root`` to ``path``: the format comes from its suffix (.png, .svg
    or .pdf). Returns the path. Needs Graphviz's ``dot`` program (see the module docstring)."""
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"draw_graph: {path}: give a file name ending in .png, .svg or .pdf")
    source = to_dot(root, names, values)
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFound("draw_graph needs Graphviz's 'dot' program, which is not installed: "
                               "apt-get install graphviz (or brew/conda install graphviz); "
                               "minigrad.to_dot(tensor) gives the DOT text without it")
    result = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=source.encode(), capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"draw_graph: dot failed on {path}: {result.stderr.decode().strip()}")
    return path


def _box(node_id, title, tensor, color, values=False, meta=None):
    shape, dtype = meta if meta is not None else (tensor.shape, tensor.dtype)
    size = "×".join(str(n) for n in shape) or "scalar"
    label = f"{title}\\n{size} {dtype}" if title else f"{size} {dtype}"
    if values and tensor is not None and tensor.numel() <= SMALL:
        label += f"\\ndata {_numbers(tensor)}"
        if tensor.grad is not None:
            label += f"\\ngrad {_numbers(tensor.grad)}"
    return f'  {node_id} [label="{label}", shape=box, style=filled, fillcolor="{color}"];'


SMALL = 8  # values=True writes the numbers of tensors with at most this many elements


def _numbers(t):
    return "[" + ", ".join(f"{v:.4g}" for v in t.numpy().reshape(-1).tolist()) + "]"


def _color(t):
    return "#c7e9c0" if t.requires_grad else "#ffffff"  # green: a leaf whose .grad backward fills


def _unique(lines):
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out
