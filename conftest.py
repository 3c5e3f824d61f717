"""Root conftest: Hypothesis settings for this repository's own tests.

Profiles derive from Hypothesis's ``default`` profile explicitly: one registered without a parent
would silently inherit the built-in ``ci`` profile when ``CI`` is set.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "convparity-dev",
    parent=settings.get_profile("default"),
    deadline=None,  # a framework's first call pays its start-up cost
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "convparity-ci",
    parent=settings.get_profile("convparity-dev"),
    derandomize=True,  # reproducible CI: the same examples every run
    database=None,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("convparity-ci" if os.environ.get("CI") else "convparity-dev"))
