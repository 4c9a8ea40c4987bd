"""Higher-order gradients (create_graph=True): every recipe's second derivative against
finite differences of its first (minigrad.gradgradcheck) and against PyTorch's double
backward; the fast kernels refuse clearly; the engine's create_graph semantics."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad as mg
from minigrad import nn
from layer_recipes import LAYER_RECIPES
from op_recipes import RECIPES, torch
from recipe_checks import assert_close, draw_inputs

UNSUPPORTED = set()  # ops whose backward cannot run on tensors: they must refuse, naming themselves (none now)
ALL = RECIPES + [r for r in LAYER_RECIPES if not r.name.startswith("conv2d_direct")]  # (fast-kernel paths)
recipes = pytest.mark.parametrize("recipe", ALL, ids=[r.name for r in ALL])


@pytest.fixture(autouse=True)
def reference_kernels():
    with mg.use_kernels("reference"):  # the fast kernels' array code cannot build a graph
        yield


@recipes
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_second_derivative_matches_finite_differences_of_the_first(recipe, data):
    arrays, params, _ = draw_inputs(data, recipe)
    inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
    if recipe.name in UNSUPPORTED:
        with pytest.raises(RuntimeError, match="cannot be differentiated twice"):
            mg.gradgradcheck(lambda *xs: recipe.fn(*xs, **params), *inputs)
        return
    assert mg.gradgradcheck(lambda *xs: recipe.fn(*xs, **params), *inputs)


@recipes
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_double_backward_matches_pytorch(recipe, data):
    if torch is None or recipe.torch is None or recipe.name in UNSUPPORTED:
        pytest.skip("PyTorch is not installed, or the op has no second derivative yet")
    arrays, params, rng = draw_inputs(data, recipe)
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = recipe.fn(*ours, **params), recipe.torch(*theirs, **params)
    weights = rng.standard_normal(out.shape)
    first = mg.grad((out * mg.tensor(weights)).sum(), ours, create_graph=True, allow_unused=True)
    first_ref = torch.autograd.grad((ref * torch.tensor(weights)).sum(), theirs, create_graph=True, allow_unused=True)
    pairs = [(a, b) for a, b in zip(first, first_ref) if a is not None and b is not None and b.requires_grad]
    directions = [rng.standard_normal(tuple(b.shape)) for _, b in pairs]
    torch.autograd.backward([(b * torch.tensor(d)).sum() for (_, b), d in zip(pairs, directions)])
    # where minigrad's first derivative has no graph (it does not depend on the inputs: abs,
    # relu, a linear op), PyTorch's second derivative must be zero too
    with_graph = [((a * mg.tensor(d)).sum()) for (a, _), d in zip(pairs, directions) if a.requires_grad]
    if with_graph:
        mg.autograd.backward(with_graph)
    for mine, reference in zip(ours, theirs):
        if reference.grad is not None:
            assert_close(mine.grad.numpy() if mine.grad is not None else np.zeros(mine.shape),
                         reference.grad.numpy(force=True), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_recurrent_cells_have_second_derivatives(cell):
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    module = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell](3, 4).double()
    x, h = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True), mg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    weights = [module.weight_ih, module.weight_hh, module.bias_ih, module.bias_hh]
    if cell == "lstm":
        c = mg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
        assert mg.gradgradcheck(lambda x, h, c, *p: mg.ops.lstm_cell(x, h, c, *p), x, h, c, *weights)
    else:
        step = mg.ops.rnn_cell if cell == "rnn" else mg.ops.gru_cell
        assert mg.gradgradcheck(lambda x, h, *p: step(x, h, *p), x, h, *weights)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_recurrent_cells_double_backward_matches_pytorch(cell):
    if torch is None:
        pytest.skip("PyTorch is not installed")
    rng = np.random.default_rng(1)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    arrays = [rng.standard_normal(s) for s in [(2, 3), (2, 4), (2, 4), (gates * 4, 3), (gates * 4, 4), (gates * 4,),
                                               (gates * 4,)]]
    if cell != "lstm":
        del arrays[2]  # no cell state
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if cell == "lstm":
        out = mg.cat(mg.ops.lstm_cell(*ours), 1)
        ref = torch.cat(torch.lstm_cell(theirs[0], (theirs[1], theirs[2]), *theirs[3:]), 1)
    else:
        out = (mg.ops.rnn_cell if cell == "rnn" else mg.ops.gru_cell)(*ours)
        ref = (torch.rnn_tanh_cell if cell == "rnn" else torch.gru_cell)(*theirs)
    weights = rng.standard_normal(out.shape)
    first = mg.grad((out * mg.tensor(weights)).sum(), ours, create_graph=True)
    first_ref = torch.autograd.grad((ref * torch.tensor(weights)).sum(), theirs, create_graph=True)
    directions = [rng.standard_normal(a.shape) for a in arrays]
    mg.autograd.backward([(a * mg.tensor(d)).sum() for a, d in zip(first, directions) if a.requires_grad])
    torch.autograd.backward([(b * torch.tensor(d)).sum() for b, d in zip(first_ref, directions) if b.requires_grad])
    for mine, reference in zip(ours, theirs):
        assert_close(mine.grad.numpy(), reference.grad.numpy(force=True), rtol=1e-8, atol=1e-10)


def test_the_fast_kernels_refuse_a_graph_and_name_the_switch():
    with mg.use_kernels("fast"):
        x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)), requires_grad=True)
        w = mg.tensor(np.random.default_rng(1).standard_normal((4, 3, 3, 3)))
        y = mg.conv2d(x, w).sum()
        if type(y._ctx.parents[0]).__module__.startswith("minigrad.fast"):
            with pytest.raises(RuntimeError, match=r"fast kernel.*use_kernels\('reference'\)"):
                mg.grad(y, [x], create_graph=True)
        else:
            pytest.skip("Numba is not installed: the fast mode runs the reference code")


def test_an_op_that_keeps_its_input_on_self_refuses_naming_itself():
    # its backward would take self.x for a constant: a silently wrong second derivative
    class Cube(mg.Function):
        def forward(self, x):
            self.x = x
            return x ** 3

        def backward(self, g):
            return 3 * g * self.x ** 2

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Cube cannot be differentiated twice.*self\.x.*save_for_backward"):
        mg.grad(Cube.apply(x).sum(), [x], create_graph=True)
    assert mg.gradcheck(Cube.apply, mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True))  # first order works


def test_a_users_op_with_save_for_backward_has_a_second_derivative():
    class Cube(mg.Function):
        """y = x³.   dx = 3x² g."""

        def forward(self, x):
            self.save_for_backward(x)
            return x ** 3

        def backward(self, g):
            x, = self.saved_tensors
            return 3 * g * x ** 2

    x = mg.tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    assert mg.gradgradcheck(Cube.apply, x)
    g, = mg.grad(Cube.apply(x).sum(), [x], create_graph=True)
    g2, = mg.grad(g.sum(), [x])
    np.testing.assert_allclose(g2.numpy(), 6 * x.numpy())


def test_saving_an_array_that_is_no_input_nor_output_is_refused_naming_the_op():
    class Twice(mg.Function):
        def forward(self, x):
            self.save_for_backward(x * 1)
            return 2 * x

        def backward(self, g):
            copy, = self.saved_tensors
            return 2 * g + 0 * copy

    x = mg.tensor([1.0], requires_grad=True)
    y = Twice.apply(x)
    y.sum().backward(retain_graph=True)  # first order never reads what forward saved: it works
    with pytest.raises(mg.GradientError, match="Twice.forward saved an array that is neither"):
        mg.grad(y.sum(), [x], create_graph=True)


def test_a_detached_copy_of_the_same_array_stays_a_constant_in_the_second_derivative():
    # x * x.detach() shares one array between its two inputs; d²/dx² (x · c) = 0, not 2
    x = mg.tensor(np.array([1.5, -2.0]), requires_grad=True)
    g, = mg.grad((x * x.detach()).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), x.numpy())
    assert not g.requires_grad or mg.grad(g.sum(), [x], allow_unused=True)[0] is None


def test_backward_with_create_graph_gives_gradients_with_a_graph():
    x = mg.tensor([1.5, -0.5], requires_grad=True)
    y = (x ** 3).sum()
    y.backward(create_graph=True)  # x.grad = 3x², with a graph
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)
    first = x.grad
    x.grad = None
    first.sum().backward()  # d/dx Σ 3x² = 6x
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())
    g, = mg.grad((x ** 4).sum(), [x], create_graph=True)  # third order: d³/dx³ x⁴ = 24x
    g2, = mg.grad(g.sum(), [x], create_graph=True)
    g3, = mg.grad(g2.sum(), [x])
    np.testing.assert_allclose(g3.numpy(), 24 * x.numpy())


def test_hooks_and_retain_grad_see_the_gradients_with_a_graph():
    x = mg.tensor([0.5, -1.0], requires_grad=True)
    hidden = x * x
    hidden.retain_grad()
    seen = []
    hidden.register_hook(lambda g: seen.append(g.requires_grad))
    (hidden.sin()).sum().backward(create_graph=True)
    assert seen == [True] and hidden.grad.requires_grad
    np.testing.assert_allclose(hidden.grad.numpy(), np.cos(x.numpy() ** 2))
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() * np.cos(x.numpy() ** 2))


# ----- the ops that exist for backward on tensors: im2col, col2im and the scatter of getitem -

@st.composite
def window_geometry(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride, padding = (draw(st.integers(1, 2)), draw(st.integers(1, 2))), (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = max(1, dilation[0] * (kernel[0] - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, 3))
    w = max(1, dilation[1] * (kernel[1] - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, 3))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w), (kernel, stride, padding, dilation)


@settings(max_examples=15, deadline=None)
@given(case=window_geometry(), seed=st.integers(0, 2**32 - 1))
def test_im2col_and_col2im_ops_pass_gradcheck_and_are_each_others_backward(case, seed):
    from minigrad.ops.im2col import Col2im, Im2col

    shape, geometry = case
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    assert mg.gradcheck(lambda x: Im2col.apply(x, geometry=geometry) ** 2, x)
    cols_shape = Im2col.apply(x, geometry=geometry).shape
    cols = mg.tensor(rng.standard_normal(cols_shape), requires_grad=True)
    assert mg.gradcheck(lambda c: Col2im.apply(c, shape=shape, geometry=geometry) ** 2, cols)
    assert mg.gradgradcheck(lambda x: Im2col.apply(x, geometry=geometry) ** 3, x)


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_scatter_behind_getitems_second_derivative_passes_gradcheck(data):
    from minigrad.ops.shape import ScatterIndex

    getitem = next(r for r in RECIPES if r.name == "getitem")
    arrays, params, rng = draw_inputs(data, getitem)
    taken = arrays[0][params["index"]]
    g = mg.tensor(rng.standard_normal(taken.shape), requires_grad=True)
    assert mg.gradcheck(lambda g: ScatterIndex.apply(g, shape=arrays[0].shape, index=params["index"]) ** 2, g)


@pytest.mark.parametrize("padding_idx", [3, -1])
def test_the_padding_row_gets_no_gradient_at_any_order(padding_idx):
    # PyTorch: padding_idx=-1 is the last row; neither the first derivative nor one built
    # with create_graph may reach it
    rng = np.random.default_rng(0)
    table = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    indices = np.array([[0, 3], [3, 1]])
    out = mg.embedding(indices, table, padding_idx=padding_idx)
    weights = mg.tensor(rng.standard_normal(out.shape))
    first, = mg.grad((out * out * weights).sum(), [table], create_graph=True)
    np.testing.assert_array_equal(first.numpy()[3], 0)
    second, = mg.grad((first * first).sum(), [table])
    np.testing.assert_array_equal(second.numpy()[3], 0)
    assert np.abs(second.numpy()[:3]).sum() > 0
    if torch is not None:
        theirs = torch.tensor(table.numpy(), requires_grad=True)
        out_t = torch.nn.functional.embedding(torch.tensor(indices), theirs, padding_idx=padding_idx)
        first_t, = torch.autograd.grad((out_t * out_t * torch.tensor(weights.numpy())).sum(), theirs, create_graph=True)
        second_t, = torch.autograd.grad((first_t * first_t).sum(), theirs)
        np.testing.assert_allclose(second.numpy(), second_t.numpy(), rtol=1e-10)


def test_gradgradcheck_says_it_is_the_second_derivative_that_is_wrong():
    class CubeWithConstantSlope(mg.Function):  # a right first derivative whose own derivative is lost
        def forward(self, x):
            self.save_for_backward(x)
            return x ** 3

        def backward(self, g):
            x, = self.saved_tensors
            return 3 * g * mg.ops.both.constant(x) ** 2   # x's values, cut from the graph

    x = mg.tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    assert mg.gradcheck(CubeWithConstantSlope.apply, x)
    with pytest.raises(mg.GradcheckError, match="gradgradcheck: the second derivative is wrong"):
        mg.gradgradcheck(CubeWithConstantSlope.apply, x)
