"""Framework versions: what is installed, and whether a version lies in a specifier range."""

from __future__ import annotations

import functools
from importlib import metadata

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

# The distribution that carries each framework's import name, in order of preference.
DISTRIBUTIONS = {
    "torch": ("torch",),
    "tensorflow": ("tensorflow-cpu", "tensorflow", "tf-nightly"),
    "scipy": ("scipy",),
    "keras": ("keras",),
    "cv2": ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
            "opencv-contrib-python"),
}


@functools.cache
def installed_version(framework: str) -> str | None:
    """The installed version of ``framework`` (an import name), or ``None``."""
    for dist in DISTRIBUTIONS.get(framework, (framework,)):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def in_range(version: str | None, specifier: str) -> bool:
    """``version`` satisfies ``specifier`` (e.g. ``">=2.12,<2.20"``), or, for a specifier that
    names a distribution (``"keras>=3"``), that distribution's installed version does. An empty
    specifier or an unknown version: True."""
    if specifier and specifier[0].isalpha():
        requirement = Requirement(specifier)
        version, specifier = installed_version(requirement.name), str(requirement.specifier)
    if not specifier or version is None:
        return True
    return Version(Version(version).base_version) in SpecifierSet(specifier)
