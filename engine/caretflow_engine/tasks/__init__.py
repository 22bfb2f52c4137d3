"""The task families and the registry that maps each task to its family."""

from __future__ import annotations

from functools import cache

from ..errors import user_error
from .base import TaskFamily


@cache
def families() -> tuple[TaskFamily, ...]:
    """Every family, in catalog order. Imported lazily: the PyCaret adapters load on first use."""
    from .association import AssociationFamily
    from .forecasting import ForecastingFamily
    from .supervised import SupervisedFamily
    from .text import TextFamily
    from .unsupervised import UnsupervisedFamily

    return (SupervisedFamily(), UnsupervisedFamily(), ForecastingFamily(), TextFamily(), AssociationFamily())


def family_for(task: str) -> TaskFamily:
    for family in families():
        if task in family.tasks:
            return family
    known = [t for f in families() for t in f.tasks]
    raise user_error("UnknownTask", f"The engine has no task '{task}'.", f"Use one of: {', '.join(known)}.")


def all_tasks() -> list[str]:
    return [t for f in families() for t in f.tasks]
