"""The differentiable ops as functions: ``minigrad.ops.add(a, b)`` and so on.

functions.py holds the thin wrappers that call one `Function` each (the math lives in the
family files: elementwise.py, activation.py, reduction.py, shape.py, linalg.py, loss.py),
composite.py the ops built from other ops, and the layer files (conv.py, pooling.py,
batchnorm.py, rnn.py, ...) their own wrappers. both.py has the few functions a backward
calls on arrays and tensors alike; methods.py gives Tensor its operators and methods.
"""
from .functions import *  # noqa: F401,F403  (each file's __all__ says what it hands on)
from .composite import *  # noqa: F401,F403
from .attention import scaled_dot_product_attention  # noqa: F401  (the layers' own wrappers)
from .batchnorm import batch_norm  # noqa: F401
from .conv import conv2d  # noqa: F401
from .dropout import dropout  # noqa: F401
from .embedding import embedding  # noqa: F401
from .linear import linear  # noqa: F401
from .pooling import avg_pool2d, max_pool2d  # noqa: F401
from .rnn import gru_cell, lstm_cell, rnn_cell  # noqa: F401
from . import methods  # noqa: F401  (gives Tensor its operators and methods)

