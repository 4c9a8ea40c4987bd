"""im2col and col2im as CuPy elementwise kernels: one GPU thread per output element.

im2col: a thread per entry of cols reads its input pixel (the map of minigrad/ops/im2col.py); the
threads of one row of cols read the NCHW input directly (a GPU does not need the
channels-last copy the CPU kernels make).
col2im: a thread per *input pixel* gathers every cols entry that was copied from it, so
threads never write to the same place and no atomic adds are needed. Pixel (h, w) was copied
by kernel row i into output row y when h + ph - i·dh = y·sh for an integer 0 <= y < OH.
"""
from ..ops.geometry import output_size

_kernels = {}


def _get_kernels():
    if not _kernels:
        import cupy

        _kernels["im2col"] = cupy.ElementwiseKernel(
            "raw T x, int32 N, int32 C, int32 H, int32 W, int32 KH, int32 KW, int32 SH, int32 SW, "
            "int32 PH, int32 PW, int32 DH, int32 DW, int32 OH, int32 OW, T pad_value",
            "T col",
            """
            int c = i % C;  long long rest = i / C;
            int j = rest % KW;  rest /= KW;
            int ki = rest % KH;  rest /= KH;
            int ox = rest % OW;  rest /= OW;
            int oy = rest % OH;  int n = rest / OH;
            int h = oy * SH - PH + ki * DH;
            int w = ox * SW - PW + j * DW;
            col = (h >= 0 && h < H && w >= 0 && w < W) ? x[((n * C + c) * H + h) * W + w] : pad_value;
            """,
            "minigrad_im2col",
        )
        _kernels["col2im"] = cupy.ElementwiseKernel(
            "raw T cols, int32 N, int32 C, int32 H, int32 W, int32 KH, int32 KW, int32 SH, int32 SW, "
            "int32 PH, int32 PW, int32 DH, int32 DW, int32 OH, int32 OW",
            "T img",
            """
            int w = i % W;  int rest = i / W;
            int h = rest % H;  rest /= H;
            int c = rest % C;  int n = rest / C;
            T total = 0;
            for (int ki = 0; ki < KH; ++ki) {
                int y_scaled = h + PH - ki * DH;
                if (y_scaled < 0 || y_scaled % SH != 0) continue;
                int oy = y_scaled / SH;
                if (oy >= OH) continue;
                for (int kj = 0; kj < KW; ++kj) {
                    int x_scaled = w + PW - kj * DW;
                    if (x_scaled < 0 || x_scaled % SW != 0) continue;
                    int ox = x_scaled / SW;
                    if (ox >= OW) continue;
                    long long row = ((long long)n * OH + oy) * OW + ox;
                    total += cols[(row * KH + ki) * KW * C + kj * C + c];
                }
            }
            img = total;
            """,
            "minigrad_col2im",
        )
    return _kernels


def im2col(x, kernel, stride, padding, dilation, pad_value=0.0, out=None, parallel=True):  # parallel: unused
    import cupy

    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    cols = cupy.empty((n * oh * ow, kh * kw * c), dtype=x.dtype) if out is None else out
    _get_kernels()["im2col"](
        cupy.ascontiguousarray(x), n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, x.dtype.type(pad_value), cols
    )
    return cols


def col2im(cols, shape, kernel, stride, padding, dilation, out=None, parallel=True):  # parallel: unused
    import cupy

    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    out = cupy.empty(shape, dtype=cols.dtype) if out is None else out
    _get_kernels()["col2im"](cupy.ascontiguousarray(cols), n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out)
    return out
