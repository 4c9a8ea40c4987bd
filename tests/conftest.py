import os

from hypothesis import HealthCheck, settings

# "dev" is quick; CI asks for more examples with HYPOTHESIS_PROFILE=ci.
settings.register_profile("dev", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
