"""Reading a user's YAML file (hardware spec, sweep) with one-line errors for every way it can be bad."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError


def read_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """The parsed content of the YAML file ``path`` (any YAML value: the caller checks its type).

    A missing file, a folder, undecodable bytes or invalid YAML raise :class:`SpecError` naming ``what``
    (e.g. "hardware spec", "sweep file") and the path.
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{what} file not found: {os.fspath(path)}")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{what} {os.fspath(path)} is not valid YAML: it is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{what} {os.fspath(path)} is not valid YAML: {exc}") from None
    except OSError as exc:
        raise SpecError(f"cannot read {what} {os.fspath(path)}: {exc.strerror or exc}") from None
