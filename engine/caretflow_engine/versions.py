"""Library versions reported in `started` events and logged on MLflow runs."""

from __future__ import annotations

import platform
from functools import cache
from importlib import metadata

_DISTRIBUTIONS = {
    "pycaret": "pycaret",
    "sklearn": "scikit-learn",
    "mlflow": "mlflow",
    "lightgbm": "lightgbm",
    "pandas": "pandas",
    "numpy": "numpy",
}


def library_versions() -> dict[str, str]:
    """Versions from installed metadata, so reporting them does not import the libraries."""
    return dict(_library_versions())


@cache
def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for key, dist in _DISTRIBUTIONS.items():
        try:
            versions[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[key] = "missing"
    return versions
