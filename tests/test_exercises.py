"""The exercises' grader (exercises/grade.py) can fail: every worked solution passes it, every
untouched skeleton fails it, and each typical wrong answer, planted in a copy of the
solution, fails it with a message that names the wrong input (or stage)."""
import types

import numpy as np
import pytest

from exercises import grade as grader  # (conftest.py puts the repository on the path)
from exercises.solutions import batch_norm, conv2d, linear, log_softmax_nll, lstm_cell, max_pool, second_derivative, tanh
from minigrad.ops.im2col import col2im

NAMES = list(grader.EXERCISES)


@pytest.mark.parametrize("name", NAMES)
def test_the_worked_solution_passes(name):
    assert grader.grade(name, grader.load(name, solution=True)).startswith(f"{name}: passed")


@pytest.mark.parametrize("name", NAMES)
def test_the_untouched_skeleton_fails_saying_it_is_not_written(name):
    with pytest.raises(grader.ExerciseFailed, match="not written yet"):
        grader.grade(name, grader.load(name))


def with_backward(solution, class_name, backward, forward=None):
    """A copy of ``solution`` whose class ``class_name`` has a planted wrong backward."""
    base = getattr(solution, class_name)
    body = {"backward": backward} if forward is None else {"backward": backward, "forward": forward}
    module = types.SimpleNamespace(**vars(solution))
    setattr(module, class_name, type(class_name, (base,), body))
    return module


def tanh_as_sigmoid(self, g):
    y, = self.saved_tensors
    return g * y * (1 - y)                                   # σ's derivative, not tanh's


def linear_transposed_weight(self, g):
    x, w = self.saved_tensors
    return g @ w.T, g.T @ x, g.sum(axis=0)                   # right shape when W is square


def linear_no_sum_over_the_batch(self, g):
    x, w = self.saved_tensors
    return g @ w, g.T @ x, g[0]                              # db from the first sample only


def nll_without_one_over_m(self, g):
    dlogp = np.zeros(self.shape, dtype=g.dtype)
    dlogp[np.arange(len(self.target)), self.target] = -g     # the mean's 1/M forgotten
    return dlogp


def log_softmax_without_the_row_sum(self, g):
    y, = self.saved_tensors
    return g - np.exp(y) * g                                 # Σ_j g_ij forgotten


def conv_weight_in_the_wrong_axis_order(self, dy):
    w, = self.saved_tensors
    f, c, kh, kw = w.shape
    g = dy.transpose(0, 2, 3, 1).reshape(-1, f)
    dw = (g.T @ self.cols).reshape(f, c, kh, kw)             # X's columns are (i, j, c), not (c, i, j)
    return col2im(g @ conv2d.weight_matrix(w), self.x_shape, *self.geometry), dw, g.sum(axis=0)


def conv_bias_of_one_image(self, dy):
    dx, dw, _ = conv2d.Conv2d.backward(self, dy)
    return dx, dw, dy[0].sum(axis=(1, 2))                    # the sum over the batch forgotten


def pool_spread_over_the_window(self, g):
    return max_pool.image(np.repeat(g[..., None] / 4, 4, axis=-1), self.shape)  # average pooling's


def batch_norm_without_dmu_dx(self, dy):
    gamma, = self.saved_tensors
    dbeta, dgamma = dy.sum(axis=self.axes), (dy * self.x_hat).sum(axis=self.axes)
    scale = gamma.reshape(self.shape) * self.inv_std / self.m
    dx = scale * (self.m * dy - self.x_hat * dgamma.reshape(self.shape))  # the -Σdy of ∂μ/∂x forgotten
    return dx, dgamma, dbeta


def batch_norm_without_one_over_m(self, dy):
    gamma, = self.saved_tensors
    dbeta, dgamma = dy.sum(axis=self.axes), (dy * self.x_hat).sum(axis=self.axes)
    scale = gamma.reshape(self.shape) * self.inv_std                       # the 1/M forgotten
    dx = scale * (self.m * dy - dbeta.reshape(self.shape) - self.x_hat * dgamma.reshape(self.shape))
    return dx, dgamma, dbeta


def lstm_through_the_wrong_time_step(self, grad):
    x, h, c, w_ih, w_hh = self.saved_tensors
    i, f, g, o = self.gates
    dh_new, dc_new = np.split(grad, 2, axis=1)
    c_new = f * c + i * g
    dc_total = dc_new + dh_new * o * (1 - self.tanh_c ** 2)
    di, df, dg, do = dc_total * g, dc_total * c_new, dc_total * i, dh_new * self.tanh_c  # c' for c
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    return da @ w_ih, da @ w_hh, dc_total * f, da.T @ x, da.T @ h, da.sum(axis=0), da.sum(axis=0)


def lstm_without_the_path_through_h(self, grad):
    x, h, c, w_ih, w_hh = self.saved_tensors
    i, f, g, o = self.gates
    dh_new, dc_new = np.split(grad, 2, axis=1)
    dc_total = dc_new                                        # c' reaches the loss through h' too
    di, df, dg, do = dc_total * g, dc_total * c, dc_total * i, dh_new * self.tanh_c
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    return da @ w_ih, da @ w_hh, dc_total * f, da.T @ x, da.T @ h, da.sum(axis=0), da.sum(axis=0)


def softplus_through_numpy(self, g):
    x, = self.saved_tensors
    return g / (1 + np.exp(-np.asarray(x)))                  # NumPy turns a tensor into a constant


def softplus_forward_keeping_x(self, x):
    self.x = x                                               # kept on self, not saved
    return np.logaddexp(0, x)


def softplus_reading_self_x(self, g):
    return g / (1 + np.exp(-self.x))


MISTAKES = {
    "tanh as sigmoid": ("tanh", with_backward(tanh, "Tanh", tanh_as_sigmoid), "dL/dx"),
    "transposed weight": ("linear", with_backward(linear, "Linear", linear_transposed_weight), "dL/dx"),
    "no sum over the batch": ("linear", with_backward(linear, "Linear", linear_no_sum_over_the_batch), "dL/dbias"),
    "missing 1/M in nll": ("log_softmax_nll", with_backward(log_softmax_nll, "NLLLoss", nll_without_one_over_m),
                           "dL/dlogits"),
    "log_softmax without the row sum": (
        "log_softmax_nll", with_backward(log_softmax_nll, "LogSoftmax", log_softmax_without_the_row_sum), "dL/dlogits"),
    "conv weight axes": ("conv2d", with_backward(conv2d, "Conv2d", conv_weight_in_the_wrong_axis_order), "dL/dweight"),
    "conv bias of one image": ("conv2d", with_backward(conv2d, "Conv2d", conv_bias_of_one_image), "dL/dbias"),
    "pool gradient spread": ("max_pool", with_backward(max_pool, "MaxPool2d", pool_spread_over_the_window), "dL/dx"),
    "batch norm without dmu/dx": ("batch_norm", with_backward(batch_norm, "BatchNorm", batch_norm_without_dmu_dx),
                                  "dL/dx"),
    "batch norm without 1/M": ("batch_norm", with_backward(batch_norm, "BatchNorm", batch_norm_without_one_over_m),
                               "dL/dx"),
    "lstm wrong time step": ("lstm_cell", with_backward(lstm_cell, "LSTMCellStep", lstm_through_the_wrong_time_step),
                             "dL/dx"),
    "lstm without the path through h'": (
        "lstm_cell", with_backward(lstm_cell, "LSTMCellStep", lstm_without_the_path_through_h), "dL/dx"),
    "second derivative through numpy": (
        "second_derivative", with_backward(second_derivative, "Softplus", softplus_through_numpy),
        "does not depend on x"),
    "second derivative from self.x": (
        "second_derivative", with_backward(second_derivative, "Softplus", softplus_reading_self_x,
                                           softplus_forward_keeping_x), "cannot be differentiated again"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_typical_wrong_answer_fails_naming_what_is_wrong(mistake):
    name, module, named = MISTAKES[mistake]
    with pytest.raises(grader.ExerciseFailed) as failure:
        grader.grade(name, module)
    message = str(failure.value)
    assert named in message, message
    assert any(word in message for word in ("expected", "cannot", "does not depend")), message


def test_the_message_names_the_element_and_both_values():
    _, module, _ = MISTAKES["no sum over the batch"]
    with pytest.raises(grader.ExerciseFailed, match=r"dL/dbias \(input 2\) is wrong at index \(\d+,\): "
                                                    r"expected -?[\d.e+-]+, got -?[\d.e+-]+"):
        grader.grade("linear", module)


def test_the_command_line_grades_and_says_so_in_its_exit_status(capsys):
    assert grader.main(["--solution", "tanh", "linear"]) == 0
    assert "tanh: passed" in capsys.readouterr().out
    assert grader.main(["tanh"]) == 1
    assert "FAILED tanh" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        grader.main(["no_such_exercise"])
