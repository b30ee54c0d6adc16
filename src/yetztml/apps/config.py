"""What the applications' run configurations share: the JSON round trip and the check of their switches."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, ClassVar, Self

from ..core.errors import OptionError, message


class RunConfig:
    """The base of a frozen dataclass of a run's choices: it writes itself as JSON and reads itself back,
    refusing keys it does not have (``KIND`` names it in that refusal)."""

    KIND: ClassVar[str]
    #: Fields added after run directories were first written, with the value the runs written before them
    #: had (not necessarily today's default): an older run's JSON is read with these filled in.
    LATER: ClassVar[dict[str, Any]] = {}

    def _check_switches(self, *names: str) -> None:
        """Refuse a field among ``names`` that is not ``True`` or ``False``."""
        for name in names:
            if not isinstance(getattr(self, name), bool):
                raise OptionError(message(f"{type(self).__name__}({name})", "True or False",
                                          repr(getattr(self, name))))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def completed(cls, obj: dict[str, Any]) -> dict[str, Any]:
        """``obj`` (a configuration's JSON) with the :attr:`LATER` fields it lacks, at their older value (anything
        but a dict is left to :meth:`from_json`'s own refusal)."""
        return {**cls.LATER, **obj} if isinstance(obj, dict) else obj

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Self:
        obj = cls.completed(obj)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise OptionError(message(cls.KIND, f"keys among {sorted(known)}", f"unknown {unknown}"))
        return cls(**obj)
