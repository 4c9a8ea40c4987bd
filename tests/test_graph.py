"""The graph picture: minigrad.to_dot and minigrad.draw_graph."""
import shutil

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


INPUTS = []  # the pictures show a constant input while someone holds it


def small_mlp_loss():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    INPUTS[:] = [mg.randn(5, 3)]
    return model, mg.cross_entropy(model(INPUTS[0]), np.array([0, 1, 1, 0, 1]))


def test_the_dot_text_has_every_op_and_names_the_parameters():
    model, loss = small_mlp_loss()
    dot = mg.to_dot(loss, names=dict(model.named_parameters()))
    ops = [line.split('label="')[1].split('"')[0] for line in dot.splitlines() if "shape=ellipse" in line]
    assert sorted(ops) == ["CrossEntropy", "Linear", "Linear", "ReLU"]
    for name, p in model.named_parameters():
        assert f"{name}\\n{'×'.join(map(str, p.shape))} float32" in dot
    assert dot.count("->") == (3 + 1) + (1 + 1) + (3 + 1) + (1 + 1)  # each op: its inputs in, its output out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_draw_graph_writes_the_picture(tmp_path, suffix, magic):
    model, loss = small_mlp_loss()
    path = mg.draw_graph(loss, tmp_path / f"graph{suffix}", names=dict(model.named_parameters()))
    assert path.read_bytes().startswith(magic) and path.stat().st_size > 1000


def test_a_missing_graphviz_gives_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    _, loss = small_mlp_loss()
    with pytest.raises(mg.GraphvizNotFound, match="needs Graphviz's 'dot' program.*apt-get install graphviz"):
        mg.draw_graph(loss, tmp_path / "graph.png")
    assert not (tmp_path / "graph.png").exists()


def test_a_freed_graph_and_a_bad_file_name_are_refused(tmp_path):
    _, loss = small_mlp_loss()
    with pytest.raises(ValueError, match="ending in .png, .svg or .pdf"):
        mg.draw_graph(loss, tmp_path / "graph.jpg")
    loss.backward()
    with pytest.raises(RuntimeError, match="draw it before backward"):
        mg.to_dot(loss)


def test_a_tensor_used_twice_has_two_edges():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    dot = mg.to_dot(x * x, names={"x": x})
    edges = [line for line in dot.splitlines() if line.strip().startswith(f"t{id(x)} ->")]
    assert len(edges) == 2 and {'label="0"' in edges[0], 'label="1"' in edges[1]} == {True}


def test_an_input_nothing_else_holds_is_drawn_without_its_shape():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * mg.tensor([3.0, 4.0])  # the constant tensor is gone once the op has run
    dot = mg.to_dot(y)
    assert 'label="constant", shape=box, style="filled,dashed"' in dot
    assert dot.count("->") == 3  # x, the constant, the output


def test_values_writes_small_tensors_values_and_gradients():
    x = mg.tensor([1.5, -2.0], requires_grad=True)
    hidden = x * 3
    hidden.retain_grad()
    y = (hidden * hidden).sum()
    y.backward(retain_graph=True)
    dot = mg.to_dot(y, names={"x": x}, values=True)
    assert "x\\n2 float32\\ndata [1.5, -2]\\ngrad [27, -36]" in dot   # dy/dx = 18x
    assert "data [4.5, -6]\\ngrad [9, -12]" in dot                       # the kept intermediate
    assert "data [" not in mg.to_dot(y, names={"x": x})                  # only when asked
