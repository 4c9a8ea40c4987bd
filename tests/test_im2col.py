"""im2col/col2im: the reference (minigrad/ops/im2col.py) and the fast kernels
(minigrad/fast/im2col_numba.py, im2col_cupy.py) agree with each other and with the definition."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad.ops import im2col as reference
from minigrad.ops.geometry import output_size

numba_kernels = pytest.importorskip("minigrad.fast.im2col_numba", reason="Numba is not installed")


@st.composite
def geometry(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h = max(1, dilation[0] * (kernel[0] - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, 6))
    w = max(1, dilation[1] * (kernel[1] - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, 6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return (n, c, h, w), (kernel, stride, padding, dilation), dtype


def im2col_by_definition(x, kernel, stride, padding, dilation, pad_value=0.0):
    """Straight from the docstring: one loop iteration per entry."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    cols = np.full((n * oh * ow, kh * kw * c), pad_value, dtype=x.dtype)
    for b in range(n):
        for y in range(oh):
            for z in range(ow):
                for ch in range(c):
                    for i in range(kh):
                        for j in range(kw):
                            hh, ww = y * sh - ph + i * dh, z * sw - pw + j * dw
                            if 0 <= hh < h and 0 <= ww < w:
                                cols[(b * oh + y) * ow + z, (i * kw + j) * c + ch] = x[b, ch, hh, ww]
    return cols


@given(case=geometry(), seed=st.integers(0, 2**32 - 1), pad_value=st.sampled_from([0.0, -np.inf]))
def test_im2col_implementations_agree_bit_for_bit_with_the_definition(case, seed, pad_value):
    shape, geo, dtype = case
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    expected = im2col_by_definition(x, *geo, pad_value=pad_value)
    results = {"reference": reference.im2col(x, *geo, pad_value=pad_value)}
    for parallel in (True, False):  # the Numba kernels' two drivers
        results[f"numba, parallel={parallel}"] = numba_kernels.im2col(x, *geo, pad_value=pad_value, parallel=parallel)
    for name, cols in results.items():
        assert cols.dtype == dtype
        np.testing.assert_array_equal(cols, expected, err_msg=name)


@given(case=geometry(), seed=st.integers(0, 2**32 - 1))
def test_col2im_is_the_adjoint_of_im2col_in_every_implementation(case, seed):
    # <im2col(x), g> = <x, col2im(g)> for all x, g  — the defining property of the backward
    shape, geo, dtype = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    cols = im2col_by_definition(x, *geo)
    g = rng.standard_normal(cols.shape)
    results = {"reference": reference.col2im(g.astype(dtype), shape, *geo),
               "numba": numba_kernels.col2im(g.astype(dtype), shape, *geo),
               "numba serial": numba_kernels.col2im(g.astype(dtype), shape, *geo, parallel=False)}
    for impl, back in results.items():
        assert back.shape == shape and back.dtype == dtype
        # round-off is relative to the size of the terms that cancel, not to their (maybe tiny) sum
        scale = np.abs(cols * g).sum()
        np.testing.assert_allclose((x * back).sum(), (cols * g).sum(), rtol=0,
                                   atol=(1e-5 if dtype == np.float32 else 1e-12) * scale)
    tol = 1e-5 if dtype == np.float32 else 1e-12  # different summation orders: round-off only
    np.testing.assert_allclose(results["numba"], results["reference"], rtol=tol, atol=tol)
    np.testing.assert_array_equal(results["numba serial"], results["numba"])  # same sums, same order


cuda = pytest.mark.skipif(not mg.cuda_is_available(), reason="CuPy with a CUDA GPU is not available")


@cuda
@given(case=geometry(), seed=st.integers(0, 2**32 - 1), pad_value=st.sampled_from([0.0, -np.inf]))
def test_cupy_kernels_agree_with_the_reference(case, seed, pad_value):
    import cupy
    from minigrad.fast import im2col_cupy

    shape, geo, dtype = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    cols = im2col_cupy.im2col(cupy.asarray(x), *geo, pad_value=pad_value)
    np.testing.assert_array_equal(cols.get(), reference.im2col(x, *geo, pad_value=pad_value))
    np.testing.assert_array_equal(reference.im2col(cupy.asarray(x), *geo, pad_value=pad_value).get(), cols.get())
    g = rng.standard_normal(cols.shape).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    expected = reference.col2im(g, shape, *geo)
    np.testing.assert_allclose(im2col_cupy.col2im(cupy.asarray(g), shape, *geo).get(), expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(reference.col2im(cupy.asarray(g), shape, *geo).get(), expected, rtol=tol, atol=tol)
