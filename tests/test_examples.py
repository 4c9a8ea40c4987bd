"""Each example runs end to end in a short mode and reaches its stated target."""
import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_moons_reaches_its_target_accuracy():
    assert load_example("two_moons").main(["--steps", "300", "--target-accuracy", "0.95"]) == 0
