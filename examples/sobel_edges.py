"""Midterm problem set 1: an edge-detecting convolution, its input gradient, and deep stacks.

Q1. Sobel filters (applied by conv2d, which like every deep-learning library computes a
cross-correlation: O(y, x) = Σ_ij K(i, j) I(y + i - 1, x + j - 1) with padding 1):

        Gx = [[-1, 0, 1],        Gy = Gxᵀ         magnitude = sqrt(Gx² + Gy²)
              [-2, 0, 2],
              [-1, 0, 1]]

Q2. The gradient of a loss l w.r.t. the input image. The course answer stopped at
"dl/dI = dl/dO · dO/dI"; written out, each input pixel collects from every output whose
window covered it:

    dl/dI(y, x) = Σ_{i,j} dl/dO((y - i + p)/s, (x - j + p)/s) · K(i, j)     (terms with integer indices in range)

which is the *full* correlation of dl/dO — first dilated by the stride s (s - 1 zeros between
entries), then zero-padded by k - 1 — with the kernel rotated by 180°, cropped by the padding
p (padding positions are not inputs) — a transposed convolution. The script checks this closed
form against minigrad's conv2d backward and against finite differences, for several strides
and paddings.

Q3. Stacking many conv + ReLU layers: the gradient reaching the early layers is a product of
one Jacobian per layer, so it shrinks or grows geometrically with depth unless each layer
preserves the signal's scale. Measured here at initialisation for depths 5/10/20/50 with a
naive small-weight init, He init, He + batch norm, and residual connections.

    python examples/sobel_edges.py --data-dir ../shared/data --out runs/sobel
"""
import argparse
import pathlib

import numpy as np

import minigrad as mg
from minigrad import data, nn

GX = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
GY = GX.T


# ----- Q1 -----------------------------------------------------------------------------------

def sobel(images):
    """images (N, 1, H, W) -> (gx, gy, magnitude), each (N, H, W)."""
    kernels = mg.tensor(np.stack([GX, GY])[:, None].astype(images.dtype))
    g = mg.conv2d(images, kernels, padding=1)
    gx, gy = g[:, 0], g[:, 1]
    return gx, gy, (gx * gx + gy * gy).sqrt()


def load_images(data_dir, count=3, synthetic=False):
    """A few MNIST digits and grey CIFAR images (N, 1, H, W) in [0, 1]; with ``synthetic``, or
    where neither dataset is there, a test pattern (a rectangle and a disc), and says so."""
    images = []
    try:
        mnist = data.MNIST(data_dir, train=False, download=False)
        images += [np.pad(mnist.images[i] / 255.0, 2) for i in range(count)]  # 28 -> 32 to stack with CIFAR
    except data.DatasetError:
        pass
    try:
        cifar = data.CIFAR10(data_dir, train=False, download=False)
        rgb = cifar.images[:count] / 255.0
        images += list(0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2])
    except data.DatasetError:
        pass
    if not images and not synthetic:
        raise data.DatasetError(f"sobel_edges: neither MNIST nor CIFAR-10 is in {data.data_root(data_dir)}: "
                                "pass --data-dir, or --synthetic for a test pattern")
    if synthetic or not images:
        yy, xx = np.mgrid[:32, :32]
        images = [((xx > 12) & (xx < 24) & (yy > 8) & (yy < 20)).astype(float), ((xx - 16) ** 2 + (yy - 16) ** 2 < 100).astype(float)]
    return np.stack(images)[:, None].astype(np.float32)


# ----- Q2 -----------------------------------------------------------------------------------

def correlate_valid(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * image[i:i + out.shape[0], j:j + out.shape[1]]
    return out


def input_gradient_closed_form(grad_out, kernel, input_shape, stride=1, padding=0):
    """dl/dI for one channel: full correlation of the stride-dilated dl/dO with the kernel
    rotated by 180°, then cropped by the padding."""
    k = kernel.shape[0]
    h, w = input_shape
    dilated = np.zeros((stride * (grad_out.shape[0] - 1) + 1, stride * (grad_out.shape[1] - 1) + 1))
    dilated[::stride, ::stride] = grad_out
    full = correlate_valid(np.pad(dilated, k - 1), kernel[::-1, ::-1])
    # ``full`` covers the padded input's rows and columns that some window touched; the rest
    # (left over when the stride does not divide evenly) got no gradient.
    padded = np.zeros((h + 2 * padding, w + 2 * padding))
    padded[:full.shape[0], :full.shape[1]] = full
    return padded[padding:padding + h, padding:padding + w]


def input_gradient_by_backward(image, kernel, grad_out, stride, padding):
    x = mg.tensor(image[None, None], requires_grad=True)
    out = mg.conv2d(x, mg.tensor(kernel[None, None]), stride=stride, padding=padding)
    out.backward(grad_out[None, None])
    return x.grad.numpy()[0, 0]


def input_gradient_numeric(image, kernel, grad_out, stride, padding, eps=1e-6):
    def loss(img):
        with mg.no_grad():
            o = mg.conv2d(mg.tensor(img[None, None]), mg.tensor(kernel[None, None]), stride=stride, padding=padding)
        return float((o.numpy()[0, 0] * grad_out).sum())

    numeric = np.zeros_like(image)
    for index in np.ndindex(image.shape):
        plus, minus = image.copy(), image.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (loss(plus) - loss(minus)) / (2 * eps)
    return numeric


def check_input_gradient(rng, size=(9, 8), cases=((1, 0), (1, 1), (2, 0), (2, 1), (3, 2))):
    """For each (stride, padding): max |closed form - backward| and |closed form - numeric|."""
    rows = []
    for kernel in (GX, rng.standard_normal((3, 3))):
        for stride, padding in cases:
            image = rng.standard_normal(size)
            oh = (size[0] + 2 * padding - 3) // stride + 1
            ow = (size[1] + 2 * padding - 3) // stride + 1
            grad_out = rng.standard_normal((oh, ow))
            closed = input_gradient_closed_form(grad_out, kernel, size, stride, padding)
            backward = input_gradient_by_backward(image, kernel, grad_out, stride, padding)
            numeric = input_gradient_numeric(image, kernel, grad_out, stride, padding)
            rows.append((stride, padding, np.abs(closed - backward).max(), np.abs(closed - numeric).max()))
    return rows


# ----- Q3 -----------------------------------------------------------------------------------

class DeepStack(nn.Module):
    """depth conv3x3 + ReLU layers; init 'naive' (N(0, 0.01²)) or 'he'; optional batch norm;
    residual: x + BN(conv(relu(x))) blocks."""

    def __init__(self, depth, channels=8, init="he", batch_norm=False, residual=False):
        super().__init__()
        self.residual = residual
        self.convs = nn.Sequential(*[nn.Conv2d(channels, channels, 3, padding=1) for _ in range(depth)])
        self.norms = nn.Sequential(*[nn.BatchNorm2d(channels) for _ in range(depth)]) if batch_norm else None
        for conv in self.convs:
            if init == "naive":
                nn.init.normal_(conv.weight, 0.0, 0.01)
            else:
                nn.init.kaiming_normal_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            if self.residual:
                branch = conv(mg.relu(x))
                x = x + (self.norms[i](branch) if self.norms else branch)
            else:
                x = conv(x)
                x = mg.relu(self.norms[i](x) if self.norms else x)
        return x


CONFIGS = {
    "naive init N(0, 0.01²)": dict(init="naive"),
    "He init": dict(init="he"),
    "He init + batch norm": dict(init="he", batch_norm=True),
    "residual (He + BN branch)": dict(init="he", batch_norm=True, residual=True),
}


def gradient_norms(depth, config, seed=0):
    """‖dL/dW_l‖ for each layer l = 1..depth at initialisation, L = Σ random ⊙ output."""
    mg.manual_seed(seed)
    model = DeepStack(depth, **config)
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((8, 8, 16, 16)).astype(np.float32))
    out = model(x)
    out.backward(rng.standard_normal(out.shape).astype(np.float32))
    return [float(np.linalg.norm(conv.weight.grad.numpy())) for conv in model.convs]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="runs/sobel")
    parser.add_argument("--depths", type=int, nargs="+", default=[5, 10, 20, 50])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true", help="a drawn test pattern instead of MNIST and CIFAR")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    images = load_images(args.data_dir, synthetic=args.synthetic)
    gx, gy, magnitude = sobel(mg.tensor(images))
    flat = images[:, 0]
    # Sobel's Gx on a vertical step from 0 to 1 gives 1 + 2 + 1 = 4 at the step: a check of orientation.
    step = np.zeros((1, 1, 6, 6), np.float32)
    step[..., 3:] = 1
    response = sobel(mg.tensor(step))[0].numpy()[0, 2]
    print(f"Q1. Sobel on {len(images)} images; Gx across a vertical 0->1 step: {response.tolist()}")
    _edge_figure(out / "sobel.png", flat, gx.numpy(), gy.numpy(), magnitude.numpy())

    print("\nQ2. dl/dI: closed form (full correlation with the 180°-rotated kernel) vs backward vs finite differences")
    print(f"   {'kernel':8s} {'stride':>6s} {'padding':>7s} {'|closed - backward|':>20s} {'|closed - numeric|':>19s}")
    for n, (stride, padding, vs_backward, vs_numeric) in enumerate(check_input_gradient(rng)):
        print(f"   {'Sobel Gx' if n < 5 else 'random':8s} {stride:6d} {padding:7d} {vs_backward:20.2e} {vs_numeric:19.2e}")

    print("\nQ3. gradient norm reaching the first layer at initialisation, ‖dL/dW_1‖ (same input and loss weights)")
    print(f"   {'configuration':28s}" + "".join(f"{'depth ' + str(d):>14s}" for d in args.depths))
    curves = {}
    for name, config in CONFIGS.items():
        ratios = []
        for depth in args.depths:
            norms = gradient_norms(depth, config, args.seed)
            ratios.append(norms[0])
            if depth == max(args.depths):
                curves[name] = norms
        print(f"   {name:28s}" + "".join(f"{r:14.3g}" for r in ratios))
    _depth_figure(out / "deep_stack_gradients.png", curves, max(args.depths))
    print("   Naive small weights shrink the signal at every layer, so the gradient reaching layer 1")
    print("   vanishes geometrically with depth, to exactly 0 in float32 at depth 50 (the 'vanishing gradients'")
    print("   the course answer named, measured). He init (Var w = 2/fan_in) keeps each layer's scale: the")
    print("   gradient stays within an order of magnitude at any depth. Batch norm in a plain stack keeps the")
    print("   forward signal normalised but its backward pass amplifies the gradient with depth (a known")
    print("   effect at initialisation); identity shortcuts (residual) keep a direct path, and its growth is")
    print("   mild. Remedies for depth: scale-preserving init, normalisation, and skip connections together.")
    print(f"\nfigures in {out}/")


def _edge_figure(path, images, gx, gy, magnitude):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(images), 4, figsize=(8, 2 * len(images)), squeeze=False)
    for row, panels in enumerate(zip(images, gx, gy, magnitude)):
        for col, (panel, title) in enumerate(zip(panels, ["image", "Gx", "Gy", "sqrt(Gx² + Gy²)"])):
            axes[row, col].imshow(panel, cmap="gray" if col in (0, 3) else "RdBu_r")
            axes[row, col].set_axis_off()
            if row == 0:
                axes[row, col].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _depth_figure(path, curves, depth):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, norms in curves.items():
        ax.semilogy(range(1, depth + 1), norms, label=name)
    ax.set(xlabel="layer (1 = closest to the input)", ylabel="‖dL/dW‖ (log scale)",
           title=f"Gradient norm per layer at initialisation, depth {depth}")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    import sys

    from minigrad.train import run_cli

    sys.exit(run_cli(main))
