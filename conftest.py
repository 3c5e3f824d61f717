"""Root conftest. The Hypothesis profiles, the parity options and the report come from the
convparity pytest plugin (installed with the package, entry point ``pytest11``), not from here.
"""

collect_ignore = ["tests/benchmarks"]  # a script timed by hand, not a test
