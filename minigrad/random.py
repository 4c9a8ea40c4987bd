"""One seeded random generator per device, so that runs are reproducible.

    minigrad.manual_seed(0)   # parameter initialisation, dropout masks and shuffles repeat

Parameter initialisation always draws on the CPU generator (so a model has the same initial
weights whichever device it is moved to); dropout draws on the generator of its input's device.
"""
import numpy as np

from . import backend

_seed = None
_generators = {}


def manual_seed(seed):
    global _seed
    _seed = int(seed)
    _generators.clear()


def generator(device="cpu"):
    """The numpy (or cupy) Generator for a device, created from the last manual_seed."""
    if device not in _generators:
        if device == "cuda":
            cupy = backend.cupy_module()
            _generators[device] = cupy.random.default_rng(_seed)
        else:
            _generators[device] = np.random.default_rng(_seed)
    return _generators[device]


def get_state():
    """Snapshot of the CPU generator's state (for checkpoints)."""
    return {"seed": _seed, "cpu": generator("cpu").bit_generator.state}


def set_state(state):
    global _seed
    _seed = state["seed"]
    generator("cpu").bit_generator.state = state["cpu"]
