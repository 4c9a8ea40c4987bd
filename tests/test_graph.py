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
