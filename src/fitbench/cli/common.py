"""Shared CLI helpers: one-line errors with exit code 2, option parsing for shapes and lists."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 ships its own copy of click; its exceptions are not click's
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as click_errors

from .. import _checks
from .._checks import auto_value
from ..errors import FitbenchError, OutputError, writing
from ..format import LABEL_CHARS, cell, label, printable  # noqa: F401 - the cli's names for them (they live below it)

_PLAIN_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH", "bool": ""}


def _help_type(param: Any, ctx: Any) -> str | None:
    """The type column of ``--help``: the option's metavar, or click's plain words (TEXT, INTEGER, PATH,
    'TEXT ...' for a repeatable option, nothing for a flag) instead of typer's ``<bool>`` / ``<list[str]>``."""
    if getattr(param, "metavar", None):
        return param.metavar
    if getattr(param, "is_flag", False) or getattr(param, "is_bool_flag", False):
        return None
    raw = _ORIGINAL_HELP_TYPE(param, ctx) or ""
    inner = raw.strip("<>")
    many = inner.startswith("list[")
    inner = inner[5:-1] if many else inner
    inner = inner.replace(" range", "")
    word = _PLAIN_TYPES.get(inner, inner.upper() if "|" not in inner else inner)
    if not word:
        return None
    return f"{word} ..." if many else word


def _install_help_types() -> None:
    """typer >= 0.20 prints ``<bool>``/``<list[str]>`` type labels that also squeeze the help column at 80
    characters; fitbench's options print click's plain labels instead (one place, for every command)."""
    global _ORIGINAL_HELP_TYPE
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover - an older typer has no such labels
        return
    if not hasattr(TyperOption, "display_type_rich") or getattr(TyperOption, "_fitbench_help", False):
        return
    _ORIGINAL_HELP_TYPE = TyperOption.display_type
    for cls in (TyperOption, TyperArgument):
        cls.display_type_rich = _help_type  # type: ignore[method-assign]
        cls._fitbench_help = True  # type: ignore[attr-defined]


_ORIGINAL_HELP_TYPE: Any = None
_install_help_types()


def refuse_repeated_options(command: Any, args: list[str]) -> None:
    """An option that takes one value, given twice (``--batch 1 --batch 4``), would silently keep the last:
    refuse it with one line instead. Repeatable options (``--hw``, ``--input``) and flags are not affected."""
    single: dict[str, str] = {}
    takes_value: set[str] = set()
    for p in command.params:
        if getattr(p, "param_type_name", "") != "option":
            continue
        for o in (*p.opts, *p.secondary_opts):
            if not (p.is_flag or p.count):
                takes_value.add(o)
            if not (p.multiple or p.is_flag or p.count):
                single[o] = next((x for x in p.opts if x.startswith("--")), p.opts[0])
    seen: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            break
        name = a.split("=", 1)[0] if a.startswith("--") else a[:2] if a.startswith("-") and len(a) > 1 else None
        if name in single:
            canon = single[name]
            if canon in seen:
                raise click_errors.UsageError(f"{canon} given more than once ({seen[canon]} and {a}); give it once"
                                              + (" (comma-separate several values: --batch 1,4)"
                                                 if canon == "--batch" else ""))
            seen[canon] = a
        if name in takes_value and "=" not in a and not (a.startswith("-") and not a.startswith("--") and len(a) > 2):
            i += 1  # skip the option's value
        i += 1


def _install_repeat_check() -> None:
    try:
        from typer.core import TyperCommand
    except ImportError:  # pragma: no cover
        return
    if getattr(TyperCommand, "_fitbench_repeat", False):
        return
    original = TyperCommand.parse_args

    def parse_args(self: Any, ctx: Any, args: list[str]) -> list[str]:
        refuse_repeated_options(self, list(args))
        return original(self, ctx, args)

    TyperCommand.parse_args = parse_args  # type: ignore[method-assign]
    TyperCommand._fitbench_repeat = True  # type: ignore[attr-defined]


_install_repeat_check()


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` on stderr (one line) and exit with ``code``."""
    sys.stderr.write("error: " + printable(" ".join(str(message).split())) + "\n")
    raise typer.Exit(code)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`FitbenchError` (and a few well-known input errors) into a one-line exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FitbenchError as exc:
            fail(str(exc), exc.exit_code)
        except MemoryError:
            fail("out of memory: the requested shapes are too large for this machine")
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


_INVOCATION: list[str] | None = None


def invocation() -> str | None:
    """The command line this CLI was invoked with, as it parsed it (``fitbench run m.onnx --batch 2``), quoted
    for a shell; ``None`` outside a CLI invocation (an API call). Never the host process's ``sys.argv``, which
    under a test runner or an embedding application is theirs."""
    if _INVOCATION is None:
        return None
    import shlex

    return " ".join(shlex.quote(a) for a in ["fitbench", *_INVOCATION])


class OneLineErrors(TyperGroup):
    """The root command group: a usage error (a bad option value, a missing argument) is one ``error:`` line
    on stderr with exit 2 too, not click's boxed usage message. ``fitbench`` alone and ``--help`` still
    print the help."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        global _INVOCATION
        argv = args[0] if args else kwargs.get("args")
        _INVOCATION = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
        try:
            return self._main(*args, standalone_mode=standalone_mode, **kwargs)
        finally:
            _INVOCATION = None

    def _main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if ctx is not None and isinstance(exc, click_errors.UsageError):
                hint = f" (see {ctx.command_path} --help)"
            sys.stderr.write("error: " + printable(" ".join(exc.format_message().split())) + hint + "\n")
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.stderr.write("error: aborted\n")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def emit(text: str, output: Path | None) -> None:
    """Write ``text`` (newline-terminated) to ``output``, or to stdout when it is ``None``."""
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    with writing(output):
        Path(output).write_text(text)


def database_files(db: str | None) -> list[Path]:
    """The files of a SQLite results database (itself and its journals); none for a PostgreSQL URL."""
    from ..store import default_location

    text = str(db) if db else default_location()
    if "://" in text:
        if not text.startswith("sqlite:///"):
            return []
        text = text[len("sqlite:///"):]
    if text == ":memory:":
        return []
    base = Path(text).expanduser()
    return [base] + [base.with_name(base.name + s) for s in ("-wal", "-shm", "-journal")]


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_output(path: Path | None, make_folders: bool = False, protect: Any = ()) -> None:
    """Refuse an output path that cannot be written *before* the work (a measurement or a comparison can take
    minutes): its folder must exist (or, with ``make_folders``, its nearest existing parent), be a folder and
    be writable, and the path itself must not be a folder. ``protect``: the command's inputs and database
    files (paths; ``None`` and non-paths such as zoo names are skipped): an output onto one is refused, so
    ``results export --db r.db -o r.db`` cannot replace the database with CSV."""
    if path is None:
        return
    path = Path(path)
    for item in protect:
        if item is None:
            continue
        other = Path(item).expanduser()
        if _same_file(path, other):
            raise OutputError(f"refusing to write {path}: it is an input of this command ({other}); "
                              "give another output file")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    parent = path.parent
    while make_folders and not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.exists():
        raise OutputError(f"cannot write {path}: no such folder {parent}")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: permission denied in {parent}")


@contextlib.contextmanager
def output_console(output: Path | None, width: int) -> Iterator[Any]:
    """A rich Console printing to ``output`` (a file, written when the block ends) or to stdout."""
    from rich.console import Console

    if output is None:
        yield Console(file=sys.stdout, width=width)
        return
    with writing(output), open(output, "w") as fh:
        yield Console(file=fh, width=width)


def parse_list(values: list[str] | None) -> list[str]:
    """A repeatable option that also takes comma-separated items: ``["a,b", "c"]`` -> ``["a", "b", "c"]``
    (``--x a --x b`` and ``--x a,b`` mean the same)."""
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in str(v).split(",") if x.strip())
    return out


def parse_hw(values: list[str] | None) -> list[str]:
    """``--hw`` in every command that takes it: repeat it or comma-separate (``--hw a --hw b`` = ``--hw a,b``)."""
    return parse_list(values)


HW_HELP = "catalog name (fitbench hw list), hardware YAML file or catalog:*; repeat or comma-separate"


def parse_pairs(values: list[str] | None, option: str, expected: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; an item without a name or a value is a one-line error
    ``{option} expects {expected}, got ...``."""
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise FitbenchError(f"{option} expects {expected}, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def parse_inputs(values: list[str] | None) -> dict[str, str]:
    """``["images=1x3x224x224", ...]`` -> ``{"images": "1x3x224x224"}``; a single ``--input 1x3x224x224``
    without a name -> ``{"": "1x3x224x224"}`` (the model's only input)."""
    items = list(values or [])
    if len(items) == 1 and "=" not in items[0] and all(p.strip().isdigit() for p in items[0].split("x")):
        return {"": items[0].strip()}
    return parse_pairs(items, "--input", "NAME=DIMS like images=1x3x224x224 (or DIMS alone for a one-input model)")


def batches_for_inputs(inputs: dict[str, str], batches: list[int], option: str = "--batch") -> list[int]:
    """The batch sizes of estimate / compare, checked against ``--input``: an input whose leading dim is N > 1
    says batch N; ``--batch`` absent then means ``[N]``, and a ``--batch`` other than N is refused with one
    line (it used to be ignored silently, or to override the input)."""
    given = {}
    for name, dims in inputs.items():
        first = str(dims).lower().split("x")[0].strip()
        if first.isdigit() and int(first) > 1:
            given[name] = int(first)
    if not given:
        return batches
    (name, n), = list(given.items())[:1]
    shown = f"{name}={inputs[name]}" if name else inputs[name]
    if not batches:
        return [n]
    if batches != [n]:
        raise FitbenchError(f"{option} {','.join(map(str, batches))} contradicts --input {shown} (batch {n}); "
                            f"give the batch once (--input with batch 1 and {option}, or the input alone)")
    return batches


def parse_dims(values: list[str] | None) -> dict[str, int]:
    """``--dim`` items ``["seq=128"]`` -> ``{"seq": 128}`` (positive integers)."""
    out: dict[str, int] = {}
    for name, value in parse_pairs(values, "--dim", "NAME=VALUE with a positive integer").items():
        if not value.isdigit() or int(value) <= 0:
            raise FitbenchError(f"--dim expects NAME=VALUE with a positive integer, got {name}={value!r}")
        out[name] = int(value)
    return out


def parse_zoo_params(resolution: str | None, seq_len: int | None, params: list[str] | None) -> dict[str, Any]:
    """The zoo options of profile / estimate / compare: ``--resolution``, ``--seq-len`` and ``--param K=V``
    (values converted to int or float where they read as one; ``-`` in keys becomes ``_``)."""
    out: dict[str, Any] = {"resolution": parse_resolution(resolution), "seq_len": seq_len}
    for key, value in parse_pairs(params, "--param", "KEY=VALUE").items():
        out[key.replace("-", "_")] = auto_value(value)
    return out


def parse_int_list(value: str | None, what: str) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]`` with a clear error."""
    if value is None or value == "":
        return []
    try:
        out = [int(v) for v in str(value).split(",") if v.strip()]
    except ValueError:
        raise FitbenchError(f"{what} expects comma-separated integers like 1,2,4, got {value!r}") from None
    if any(v <= 0 for v in out):
        raise FitbenchError(f"{what} values must be positive, got {value!r}")
    return out


def parse_resolution(value: str | None) -> tuple[int, int] | None:
    """``"1920x1080"`` (width x height, as cameras state it) -> ``(height, width)``; ``None`` stays ``None``."""
    return _checks.parse_resolution(value) if value else None
