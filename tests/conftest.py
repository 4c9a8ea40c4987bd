import os
import pathlib
import sys

from hypothesis import HealthCheck, settings

# The examples import as modules (the grammar-correction example is a package, `gec`).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # the repository: exercises/

# "dev" is quick; CI asks for more examples with HYPOTHESIS_PROFILE=ci.
settings.register_profile("dev", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
