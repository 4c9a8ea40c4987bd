"""The switch between the two rooms: the reference ops of minigrad/ops/ and their fast twins
of minigrad/fast/ agree on every op of the test tables, the switch selects them all at once,
and the reference mode never loads Numba."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from layer_recipes import LAYER_RECIPES
from op_recipes import RECIPES
from recipe_checks import draw_inputs

ALL = RECIPES + LAYER_RECIPES


def run(recipe, arrays, params, upstream_seed, mode, dtype):
    with mg.use_kernels(mode):
        inputs = [mg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = recipe.fn(*inputs, **params)
        upstream = np.random.default_rng(upstream_seed).standard_normal(out.shape).astype(np.float32)
        out.backward(upstream.astype(dtype))
    return [out.numpy()] + [t.grad.numpy() for t in inputs]


@pytest.mark.parametrize("recipe", ALL, ids=[r.name for r in ALL])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_fast_and_reference_kernels_agree(recipe, dtype, data):
    """In float64 the two modes agree to round-off. In float32 the fast kernels may round
    differently (other summation orders, float64 accumulators), so they must be no further
    from the float64 result than the float32 reference is, give or take 1e-4 of the scale."""
    arrays, params, rng = draw_inputs(data, recipe)
    arrays = [a.astype(dtype) for a in arrays]
    seed = int(rng.integers(2**32))
    reference, fast = (run(recipe, arrays, params, seed, mode, dtype) for mode in ("reference", "fast"))
    exact = run(recipe, arrays, params, seed, "reference", np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for expected, actual, truth in zip(reference, fast, exact):
        assert actual.dtype == expected.dtype == dtype
        scale = max(1.0, float(np.abs(truth).max(initial=0)))
        reference_error = np.abs(expected.astype(np.float64) - truth)
        fast_error = np.abs(actual.astype(np.float64) - truth)
        assert (fast_error <= reference_error + tol * scale).all(), (
            f"fast kernels off by {fast_error.max()}, the reference by {reference_error.max()}")


def test_the_switch_selects_every_op_at_once():
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)), requires_grad=True)
    w = mg.tensor(np.ones((4, 3, 3, 3)), requires_grad=True)
    ops = {
        "conv": lambda: mg.conv2d(x, w), "max_pool": lambda: mg.max_pool2d(x, 2), "avg_pool": lambda: mg.avg_pool2d(x, 2),
        "batch_norm": lambda: mg.batch_norm(x, None, None, mg.ones(3, dtype=x.dtype), mg.zeros(3, dtype=x.dtype), training=True),
        "relu": lambda: x.relu(), "sigmoid": lambda: x.sigmoid(), "tanh": lambda: x.tanh(),
        "linear": lambda: mg.linear(x.reshape(2, -1), mg.tensor(np.ones((5, 192)), requires_grad=True)),
        "dropout": lambda: mg.dropout(x, 0.5), "log_softmax": lambda: mg.log_softmax(x.reshape(2, -1), dim=1),
        "nll_loss": lambda: mg.nll_loss(x.reshape(2, -1), np.array([0, 1])),
    }
    with mg.use_kernels("reference"):
        assert mg.get_kernels() == "reference"
        assert {type(make()._ctx).__module__.split(".")[1] for make in ops.values()} == {"ops"}
    if mg.fast.numba_available():
        with mg.use_kernels("fast"):
            assert {type(make()._ctx).__module__.split(".")[1] for make in ops.values()} == {"fast"}
    with pytest.raises(ValueError, match="kernels must be one of"):
        mg.set_kernels("turbo")


def python(code, **environment):
    env = dict(os.environ, **environment)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


TRAIN_STEP = """
import sys
import numpy as np
import minigrad as mg
from minigrad import nn
model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(4, 4, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 2), nn.Sigmoid())
x = mg.tensor(np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32))
model(x).sum().backward()
print(mg.get_kernels(), sys.modules.get("numba") is not None)  # None: blocked, not loaded
"""


def test_the_reference_mode_never_imports_numba():
    result = python(TRAIN_STEP, MINIGRAD_KERNELS="reference")
    assert result.stdout.split() == ["reference", "False"], result.stderr


def test_fast_mode_without_numba_runs_the_reference_ops():
    # Numba made unimportable: the Numba twins are not registered (their ops run the reference),
    # and nothing loads Numba; Linear's NumPy twin still runs.
    result = python("import sys; sys.modules['numba'] = None\n" + TRAIN_STEP, MINIGRAD_KERNELS="fast")
    assert result.stdout.split() == ["fast", "False"], result.stderr


def test_the_environment_variable_sets_the_mode_and_a_bad_value_is_refused():
    assert python("import minigrad; print(minigrad.get_kernels())", MINIGRAD_KERNELS="reference").stdout.strip() == "reference"
    result = python("import minigrad, numpy; minigrad.relu(minigrad.tensor([1.0]))", MINIGRAD_KERNELS="turbo")
    assert "MINIGRAD_KERNELS" in result.stderr and result.returncode != 0
