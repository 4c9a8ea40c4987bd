"""The midterm exercises: each identity checked (closed form = autograd = finite differences),
and each script running end to end."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from fake_data import SHARED_DATA
from test_examples import load_example

sobel = load_example("sobel_edges")
bptt = load_example("bptt_scalar_rnn")
pe = load_example("positional_encoding")


# ----- PS1 --------------------------------------------------------------------------------

def test_sobel_gx_responds_to_a_vertical_edge_and_gy_does_not():
    image = np.zeros((1, 1, 6, 6), np.float32)
    image[..., 3:] = 1
    gx, gy, magnitude = sobel.sobel(mg.tensor(image))
    assert gx.numpy()[0, 2, 1:5].tolist() == [0, 4, 4, 0]  # columns 2 and 3 straddle the step
    assert np.all(gy.numpy()[0, 1:5, 1:5] == 0)
    np.testing.assert_allclose(magnitude.numpy()[:, 1:5, 1:5], np.abs(gx.numpy())[:, 1:5, 1:5])  # away from the zero padding


@given(stride=st.integers(1, 3), padding=st.integers(0, 2), h=st.integers(3, 9), w=st.integers(3, 9),
       seed=st.integers(0, 2**31))
def test_input_gradient_closed_form_equals_backward_and_finite_differences(stride, padding, h, w, seed):
    rng = np.random.default_rng(seed)
    kernel, image = rng.standard_normal((3, 3)), rng.standard_normal((h, w))
    out_shape = ((h + 2 * padding - 3) // stride + 1, (w + 2 * padding - 3) // stride + 1)
    grad_out = rng.standard_normal(out_shape)
    closed = sobel.input_gradient_closed_form(grad_out, kernel, (h, w), stride, padding)
    np.testing.assert_allclose(closed, sobel.input_gradient_by_backward(image, kernel, grad_out, stride, padding), atol=1e-12)
    np.testing.assert_allclose(closed, sobel.input_gradient_numeric(image, kernel, grad_out, stride, padding), atol=1e-6)


def test_without_the_180_degree_rotation_the_closed_form_is_wrong():
    rng = np.random.default_rng(0)
    kernel, grad_out = rng.standard_normal((3, 3)), rng.standard_normal((5, 5))
    right = sobel.input_gradient_closed_form(grad_out, kernel, (5, 5), 1, 1)
    unrotated = sobel.input_gradient_closed_form(grad_out, kernel[::-1, ::-1], (5, 5), 1, 1)
    assert np.abs(right - unrotated).max() > 0.1


def test_deep_stack_gradient_vanishes_with_naive_init_but_not_with_he_init():
    naive = [sobel.gradient_norms(d, sobel.CONFIGS["naive init N(0, 0.01²)"])[0] for d in (5, 10)]
    he = [sobel.gradient_norms(d, sobel.CONFIGS["He init"])[0] for d in (5, 10)]
    assert naive[1] < 1e-5 * naive[0]  # five more layers: at least 10^5 times smaller
    assert 0.1 < he[1] / he[0] < 10


# ----- PS2 --------------------------------------------------------------------------------

@given(T=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_bptt_closed_form_equals_autograd_and_finite_differences(T, seed):
    rng = np.random.default_rng(seed)
    xs, y = rng.standard_normal(T).tolist(), float(rng.standard_normal())
    a, b = float(rng.standard_normal()), float(rng.uniform(-1.2, 1.2))
    closed, auto = bptt.closed_form_gradients(a, b, xs, y), bptt.autograd_gradients(a, b, xs, y)
    np.testing.assert_allclose(closed, auto, rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(lambda ta, tb: bptt.loss_fn(ta, tb, xs, y), mg.tensor(a, requires_grad=True),
                        mg.tensor(b, requires_grad=True))


def test_the_last_step_only_answer_is_wrong_and_truncation_to_T_is_exact():
    xs, y, a, b = [1.0, 2.0, -1.0, 0.5], 0.3, 0.7, 0.9
    assert bptt.truncated_gradients(a, b, xs, y, k=len(xs)) == pytest.approx(bptt.closed_form_gradients(a, b, xs, y))
    assert bptt.last_step_only_gradients(a, b, xs, y) != pytest.approx(bptt.closed_form_gradients(a, b, xs, y))


# ----- PS3 --------------------------------------------------------------------------------

@given(d=st.sampled_from([2, 8, 32, 64]), length=st.integers(2, 60))
def test_pe_dot_product_depends_only_on_the_offset(d, length):
    p = pe.positional_encoding(length, d)
    gram = p @ p.T
    for t in range(length):
        for tau in range(length):
            assert gram[t, tau] == pytest.approx(pe.dot_by_offset(t - tau, d), abs=1e-9)


@given(d=st.sampled_from([2, 8, 32]), k=st.integers(1, 30))
def test_shift_by_k_is_a_fixed_rotation(d, k):
    p = pe.positional_encoding(k + 40, d)
    r = pe.rotation(k, d)
    np.testing.assert_allclose(p[k:], p[:-k] @ r.T, atol=1e-9)
    np.testing.assert_allclose(r @ r.T, np.eye(d), atol=1e-12)


def test_score_decomposition_adds_up():
    rng = np.random.default_rng(0)
    p, x = pe.positional_encoding(20, 16), rng.standard_normal((20, 16))
    np.testing.assert_allclose((x + p) @ (x + p).T, sum(pe.score_terms(x, p).values()), atol=1e-10)


# ----- the scripts run end to end -----------------------------------------------------------

def test_scripts_run_and_write_their_figures(tmp_path, capsys):
    real = ["--data-dir", str(SHARED_DATA)] if SHARED_DATA.is_dir() else ["--synthetic"]
    sobel.main(real + ["--out", str(tmp_path / "sobel"), "--depths", "5", "10"])
    bptt.main(["--out", str(tmp_path / "bptt")])
    pe.main(["--out", str(tmp_path / "pe"), "--length", "40", "--d", "16"])
    for name in ("sobel/sobel.png", "sobel/deep_stack_gradients.png", "bptt/jacobian_vs_T.png",
                 "bptt/rnn_vs_lstm_reach.png", "pe/pe_dot_heatmap.png", "pe/score_terms_vs_distance.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name
    printed = capsys.readouterr().out
    assert "gradcheck passed on every sequence" in printed


def test_sobel_says_when_there_are_no_images_instead_of_drawing_its_own(tmp_path):
    from minigrad.data import DatasetError

    with pytest.raises(DatasetError, match="neither MNIST nor CIFAR-10.*--synthetic"):
        sobel.main(["--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "sobel"), "--depths", "5"])
    assert len(sobel.load_images(str(tmp_path / "empty"), synthetic=True)) == 2
