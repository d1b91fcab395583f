"""shipstate: declarative deploys of Python web apps over SSH."""

import importlib
import importlib.util
import sys
import types

__version__ = "0.1.0"


class _InvokeOnFirstUse(types.ModuleType):
    """paramiko imports invoke (~50 ms, with asyncio and unittest.mock) when it is imported,
    only for ssh_config's `Match exec`: this stands in for it until that first runs."""

    def __getattr__(self, name: str) -> object:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


if "invoke" not in sys.modules and importlib.util.find_spec("invoke") is not None:
    sys.modules["invoke"] = _InvokeOnFirstUse("invoke")
