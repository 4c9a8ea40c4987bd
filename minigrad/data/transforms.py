"""Batch augmentations: each transform takes a whole batch (N, C, H, W) — or one image
(C, H, W), as torchvision's do — and draws one random setting per image, with no Python
loop over images. They work on NumPy and CuPy batches and on tensors alike (the random
numbers are drawn on the CPU; they are few).

    augment = Compose([ToFloat(), RandomCrop(32, padding=4), RandomHorizontalFlip(),
                       ColorJitter(0.2, 0.2, 0.2), Normalize(mean, std)])
    batch = augment(batch, rng)

``rng`` is a NumPy Generator (the DataLoader passes one made from its seed and the epoch);
without one a transform draws from minigrad's generator, seeded by ``mg.manual_seed``.
"""

import numpy as np

from .. import random
from ..backend import get_array_module
from ..tensor import Tensor


def _device(xp, array):
    return xp.asarray(array)


class _ImageTransform:
    """Calls ``apply(batch (N, C, H, W), rng)`` on a batch or on one image (C, H, W)."""

    def __call__(self, x, rng=None):
        array = x.data if isinstance(x, Tensor) else x
        if getattr(array, "ndim", None) not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected an image (C, H, W) or a batch (N, C, H, W), "
                             f"got shape {getattr(array, 'shape', type(x).__name__)}")
        single = array.ndim == 3
        out = self.apply(array[None] if single else array, random.generator("cpu") if rng is None else rng)
        out = out[0] if single else out
        return Tensor(out) if isinstance(x, Tensor) else out

    def apply(self, x, rng):
        raise NotImplementedError


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x, rng=None):
        for t in self.transforms:
            x = t(x, rng)
        return x


class ToFloat:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""

    def __call__(self, x, rng=None):
        return x.astype(np.float32) / np.float32(255)


class ToTensor:
    """torchvision's ToTensor: an image array (H, W, C) or (H, W) -> a tensor (C, H, W),
    uint8 pixels scaled to float32 in [0, 1] (other dtypes kept). For batches already in
    (N, C, H, W), as minigrad's loaders give them, use ToFloat."""

    def __call__(self, x, rng=None):
        array = np.asarray(x)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(f"ToTensor: expected an image (H, W, C) or (H, W), got shape {array.shape}; "
                             f"for a batch (N, C, H, W) use ToFloat")
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        return Tensor(chw.astype(np.float32) / np.float32(255) if chw.dtype == np.uint8 else chw)


class Normalize(_ImageTransform):
    """(x - mean) / std per channel."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)

    def apply(self, x, rng=None):
        xp = get_array_module(x)
        return (x - _device(xp, self.mean)) / _device(xp, self.std)


class RandomCrop(_ImageTransform):
    """Pad each side with zeros, then cut a random size x size window from each image."""

    def __init__(self, size, padding=0):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding

    def apply(self, x, rng):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        p = self.padding
        padded = xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        (sh, sw), (ph, pw) = self.size, padded.shape[2:]
        if sh > ph or sw > pw:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image {(ph, pw)}")
        top = _device(xp, rng.integers(0, ph - sh + 1, n))
        left = _device(xp, rng.integers(0, pw - sw + 1, n))
        rows = top[:, None, None, None] + xp.arange(sh)[None, None, :, None]
        cols = left[:, None, None, None] + xp.arange(sw)[None, None, None, :]
        return padded[xp.arange(n)[:, None, None, None], xp.arange(c)[None, :, None, None], rows, cols]


class RandomHorizontalFlip(_ImageTransform):
    """Mirror left-right with probability p. (Not for digits or text: a mirrored 2 is no digit.)"""

    def __init__(self, p=0.5):
        self.p = p

    def apply(self, x, rng):
        xp = get_array_module(x)
        flip = _device(xp, rng.random(len(x)) < self.p)[:, None, None, None]
        return xp.where(flip, x[..., ::-1], x)


class ColorJitter(_ImageTransform):
    """Random brightness, contrast and saturation factors in [1 - s, 1 + s], one per image,
    on float images in [0, 1]. A strength of 0 leaves that property untouched."""

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0):
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation

    @staticmethod
    def _factors(rng, strength, n, xp):
        return _device(xp, rng.uniform(max(0.0, 1 - strength), 1 + strength, n).astype(np.float32))[:, None, None, None]

    @staticmethod
    def _gray(x):
        if x.shape[1] == 1:
            return x
        return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]

    def apply(self, x, rng):
        xp = get_array_module(x)
        if not (self.brightness or self.contrast or self.saturation):
            return x
        n = len(x)
        if self.brightness:
            x = x * self._factors(rng, self.brightness, n, xp)
        if self.contrast:
            mean = self._gray(x).mean(axis=(1, 2, 3), keepdims=True)
            x = (x - mean) * self._factors(rng, self.contrast, n, xp) + mean
        if self.saturation and x.shape[1] == 3:
            gray = self._gray(x)
            x = gray + (x - gray) * self._factors(rng, self.saturation, n, xp)
        return xp.clip(x, 0, 1).astype(np.float32)


class RandomAffine(_ImageTransform):
    """Random rotation (degrees), translation (fraction of the size) and scale per image,
    about the image centre; bilinear interpolation, zeros outside. Suits digits: small
    rotations and shifts keep a digit the same digit."""

    def __init__(self, degrees=0.0, translate=(0.0, 0.0), scale=(1.0, 1.0)):
        self.degrees, self.translate, self.scale = degrees, tuple(translate), tuple(scale)

    def apply(self, x, rng):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        angle = np.deg2rad(rng.uniform(-self.degrees, self.degrees, n))
        scale = rng.uniform(self.scale[0], self.scale[1], n)
        ty = rng.uniform(-self.translate[1], self.translate[1], n) * h
        tx = rng.uniform(-self.translate[0], self.translate[0], n) * w
        # Inverse map: for each output pixel p, read the input at R(-θ)(p - centre - t)/s + centre.
        cy, cx = (h - 1) / 2, (w - 1) / 2
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        cos, sin = (np.cos(angle) / scale)[:, None, None], (np.sin(angle) / scale)[:, None, None]
        dy, dx = yy[None] - ty[:, None, None], xx[None] - tx[:, None, None]
        src_y = cos * dy - sin * dx + cy
        src_x = sin * dy + cos * dx + cx
        return _bilinear(x, _device(xp, src_y), _device(xp, src_x))


def _bilinear(x, src_y, src_x):
    """Sample every image at fractional coordinates (N, H, W); zero outside the image."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    y0, x0 = xp.floor(src_y).astype(np.int64), xp.floor(src_x).astype(np.int64)
    wy, wx = (src_y - y0).astype(np.float32), (src_x - x0).astype(np.float32)
    images = xp.arange(n)[:, None, None]
    out = xp.zeros((n, h, w, c), dtype=np.float32)
    for oy, ox, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = y0 + oy, x0 + ox
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        values = x[images, :, xp.clip(yi, 0, h - 1), xp.clip(xi, 0, w - 1)]  # (N, H, W, C)
        out += values * (weight * inside)[..., None]
    return out.transpose(0, 3, 1, 2).astype(x.dtype if x.dtype.kind == "f" else np.float32)


def mnist_normalization():
    """MNIST's training-set pixel mean and std (on [0, 1] pixels)."""
    return Normalize([0.1307], [0.3081])


def cifar10_normalization():
    return Normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])


__all__ = ["Compose", "ToFloat", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "ColorJitter",
           "RandomAffine", "mnist_normalization", "cifar10_normalization"]
