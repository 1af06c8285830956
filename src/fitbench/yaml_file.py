"""Reading a user's YAML file (hardware spec, sweep) with one-line errors for every way it can be bad.

Bounds: a file over :data:`MAX_BYTES` is refused before it is read, and a document whose aliases would
expand it past :data:`MAX_NODES` nodes (a "billion laughs": a 1 KB file that grows to gigabytes) or that
refers to itself is refused after parsing, before anything is built from it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

MAX_BYTES = 4 * 1024 * 1024  # a sweep or a hardware spec is a few KB
MAX_NODES = 100_000  # scalars, lists and mappings after alias expansion


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that measures the composed node graph, aliases expanded, before constructing it."""


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Node count of ``root`` with every alias expanded (memoised per node: linear in the composed graph).

    Raises ``ValueError`` past ``limit`` or on a node that contains itself."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size:
            continue
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [x for pair in node.value for x in pair]
        else:
            size[key] = 1
            continue
        if done:
            open_.discard(key)
            size[key] = total = 1 + sum(size[id(c)] for c in children)
            if total > limit:
                raise ValueError(f"it expands to more than {limit:,} values (nested aliases)")
            continue
        if key in open_:
            raise ValueError("an alias refers to the node that contains it (a recursive structure)")
        open_.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_:
                raise ValueError("an alias refers to the node that contains it (a recursive structure)")
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)]


def load_bounded(text: str, max_nodes: int = MAX_NODES) -> Any:
    """``yaml.safe_load`` with alias expansion bounded (``ValueError`` past ``max_nodes``)."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """The parsed content of the YAML file ``path`` (any YAML value: the caller checks its type).

    A missing file, a folder, a file over :data:`MAX_BYTES`, undecodable bytes, invalid YAML or aliases that
    expand past :data:`MAX_NODES` raise :class:`SpecError` naming ``what`` (e.g. "hardware spec", "sweep
    file") and the path.
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{what} file not found: {os.fspath(path)}")
    try:
        if p.stat().st_size > MAX_BYTES:
            raise SpecError(f"{what} {os.fspath(path)} is {p.stat().st_size:,} bytes: larger than the "
                            f"{MAX_BYTES // (1024 * 1024)} MiB a {what} may be")
        return load_bounded(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{what} {os.fspath(path)} is not valid YAML: it is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{what} {os.fspath(path)} is not valid YAML: {exc}") from None
    except ValueError as exc:
        raise SpecError(f"{what} {os.fspath(path)} is refused: {exc}") from None
    except RecursionError:
        raise SpecError(f"{what} {os.fspath(path)} is refused: it is nested too deep") from None
    except OSError as exc:
        raise SpecError(f"cannot read {what} {os.fspath(path)}: {exc.strerror or exc}") from None
