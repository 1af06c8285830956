"""Let a module be called as its main function.

``fitbench.profile``, ``fitbench.measure`` and ``fitbench.compare`` are both modules and the
public functions of the same name: once the module is imported, Python binds the *module* as the
package attribute, so the module itself forwards calls to the function.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def make_module_callable(module_name: str, function_name: str) -> None:
    module = sys.modules[module_name]

    class _CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(self, function_name)(*args, **kwargs)

    module.__class__ = _CallableModule
