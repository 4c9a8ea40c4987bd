"""Window geometry shared by convolution and pooling: sizes as pairs, and the output size."""


def pair(value, name="argument"):
    """3 -> (3, 3); (2, 3) -> (2, 3)."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return value


def output_size(size, kernel, stride, padding, dilation=1):
    """How many windows fit along one axis, rounded down as in PyTorch:

        out = (size + 2·padding - dilation·(kernel - 1) - 1) // stride + 1
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
