"""mg.save / mg.load: state dicts and tensors round-trip; PyTorch weights exported as
.safetensors or .npz load into the matching minigrad model by key and give PyTorch's
outputs; pickles (torch.save files) and malformed files are refused, naming the file."""
import json
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from op_recipes import torch

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")
try:
    import safetensors.numpy as safetensors_numpy
    import safetensors.torch as safetensors_torch
except ImportError:
    safetensors_numpy = safetensors_torch = None
needs_safetensors = pytest.mark.skipif(safetensors_torch is None, reason="the safetensors package writes the files")


def small_net(lib):
    layers = lib.nn
    return layers.Sequential(layers.Conv2d(1, 4, 3), layers.BatchNorm2d(4), layers.ReLU(), layers.Flatten(),
                             layers.Linear(4 * 4 * 4, 3))


def test_a_state_dict_and_tensors_round_trip(tmp_path):
    mg.manual_seed(0)
    model = small_net(mg)
    mg.save(model.state_dict(), tmp_path / "model.npz")
    other = small_net(mg)
    other.load_state_dict(mg.load(tmp_path / "model.npz"))
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    w = mg.tensor(np.arange(3.0), requires_grad=True)
    mg.save({"w": w, "step": 3, "pair": (mg.tensor([1, 2]), "x")}, tmp_path / "misc.npz")
    back = mg.load(tmp_path / "misc.npz")
    assert isinstance(back["w"], mg.Tensor) and back["w"].requires_grad and back["step"] == 3
    assert isinstance(back["pair"], tuple) and back["pair"][0].dtype == np.int64 and back["pair"][1] == "x"


@needs_torch
@pytest.mark.parametrize("route", ["safetensors", "npz"])
def test_pytorch_weights_load_into_the_matching_model(tmp_path, route):
    if route == "safetensors" and safetensors_torch is None:
        pytest.skip("the safetensors package writes the file")
    torch.manual_seed(0)
    theirs = small_net(torch).double()
    theirs(torch.randn(8, 1, 6, 6, dtype=torch.float64))  # running statistics move off their start
    theirs.eval()
    state = {k: v for k, v in theirs.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / f"weights.{route}"
    if route == "safetensors":
        safetensors_torch.save_file(state, str(path))
    else:
        with open(path, "wb") as f:
            np.savez(f, **{k: v.numpy() for k, v in state.items()})
    mg.set_default_dtype(np.float64)
    try:
        ours = small_net(mg)
    finally:
        mg.set_default_dtype(np.float32)
    ours.load_state_dict(mg.load(path))
    ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@needs_torch
@needs_safetensors
def test_bfloat16_and_every_dtype_read_as_pytorch_wrote_them(tmp_path):
    values = torch.tensor([1.5, -2.25, 3.0e-3, 65504.0])
    tensors = {"bf16": values.to(torch.bfloat16), "f16": values.half(), "i8": torch.tensor([-3, 7], dtype=torch.int8),
               "b": torch.tensor([True, False]), "scalar": torch.tensor(2.0, dtype=torch.float64)}
    safetensors_torch.save_file(tensors, str(tmp_path / "t.safetensors"))
    back = mg.load(tmp_path / "t.safetensors")
    np.testing.assert_array_equal(back["bf16"], tensors["bf16"].float().numpy())
    for name in ("f16", "i8", "b", "scalar"):
        assert back[name].dtype == tensors[name].numpy().dtype and back[name].shape == tuple(tensors[name].shape)
        np.testing.assert_array_equal(back[name], tensors[name].numpy())


@needs_torch
def test_a_torch_save_file_and_a_pickle_are_refused_with_the_recipe(tmp_path):
    torch.save(small_net(torch).state_dict(), tmp_path / "model.pt")
    with pytest.raises(mg.serialization.LoadError, match=r"model.pt: a PyTorch torch.save file.*safetensors"):
        mg.load(tmp_path / "model.pt")
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(mg.serialization.LoadError, match="p.pkl: a PyTorch torch.save file"):
        mg.load(tmp_path / "p.pkl")
    with pytest.raises(mg.serialization.LoadError, match="weights_only=False"):
        mg.load(tmp_path / "p.pkl", weights_only=False)


def write_safetensors(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


@pytest.mark.parametrize("header, data, message", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, bytes(8), "fall outside"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8), "needs 12 bytes"),
    ({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8), "unsupported dtype"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4), "not a list of non-negative"),
    ({"w": {"dtype": "F32", "shape": [1]}}, bytes(4), "expected the fields"),
    ({"w": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4]}}, bytes(4), "needs"),
])
def test_malformed_safetensors_files_are_refused_naming_the_field(tmp_path, header, data, message):
    path = tmp_path / "bad.safetensors"
    write_safetensors(path, header, data)
    with pytest.raises(mg.serialization.LoadError, match=f"bad.safetensors: tensor 'w': .*{message}"):
        mg.load(path)


def test_a_header_longer_than_the_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes((10**9).to_bytes(8, "little") + b"{}")
    with pytest.raises(mg.serialization.LoadError, match="big.safetensors: a safetensors header of 1000000000 bytes"):
        mg.load(path)
