"""shipstate: declarative deploys of Python web apps over SSH."""

import importlib
import importlib.util
import sys
import types

__version__ = "0.1.0"


class _Placeholder:
    """Stands for a class no object shipstate makes is an instance of."""


class _OnFirstUse(types.ModuleType):
    """Stands in for a module a dependency imports at start-up but shipstate never uses, until
    something does: names in `placeholders` are _Placeholder meanwhile."""

    def __init__(self, name: str, placeholders: tuple[str, ...] = ()):
        super().__init__(name)
        self._placeholders = placeholders

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            if name in self._placeholders:
                return _Placeholder
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


# paramiko imports invoke (~50 ms, with asyncio and unittest.mock) only for ssh_config's
# `Match exec`; pyinfra imports typeguard, which imports unittest.mock (~50 ms, with asyncio)
# for isinstance(value, Mock) and its import hook's patch: shipstate checks no Mock, installs
# no hook (and unittest.mock, part of Python, is not looked for: that would import unittest)
if "invoke" not in sys.modules and importlib.util.find_spec("invoke") is not None:
    sys.modules["invoke"] = _OnFirstUse("invoke")
if "unittest.mock" not in sys.modules:
    sys.modules["unittest.mock"] = _OnFirstUse("unittest.mock", ("Mock", "patch"))
