"""``fitbench report``: a report of a stored comparison or sweep, or of a saved comparison JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..errors import FitbenchError
from .common import check_output, database_files, printable, user_errors


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)


@user_errors
def report_cmd(
    db: str | None = typer.Option(None, "--db", help="results database (SQLite path or postgresql:// URL)"),
    sweep: str | None = typer.Option(None, "--sweep", help="the sweep id to report (fitbench report --db X --list)"),
    from_json: Path | None = typer.Option(None, "--json", help="a comparison saved with compare -o x.json"),
    list_: bool = typer.Option(False, "--list", help="list the stored sweeps and exit"),
    output: list[Path] | None = typer.Option(None, "--output", "-o", help=".html, .md, .csv or .json"),
) -> None:
    """Write the HTML (or Markdown/CSV/JSON) report of a stored sweep or a saved comparison."""
    from ..compare.result import Comparison
    from ..report.static import print_comparison, write_outputs
    from ..report.sweep import load_sweep, write_sweep_outputs

    for out in output or []:
        check_output(out, make_folders=True, protect=[from_json, *database_files(db)])
    if from_json is not None:
        try:
            comp = Comparison.from_dict(json.loads(from_json.read_text()))
        except FileNotFoundError:
            raise FitbenchError(f"no such file: {from_json}") from None
        except OSError as exc:
            raise FitbenchError(f"cannot read {from_json}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise FitbenchError(f"{from_json} is not a fitbench comparison JSON ({exc})") from None
        print_comparison(comp)
        for out in output or []:
            for p in write_outputs(comp, out):
                sys.stderr.write(f"wrote {p}\n")
        return
    from ..store import open_store

    store = open_store(db, create=False)  # read-only: a mistyped --db is refused, never created
    if list_ or not sweep:
        sweeps = store.list_sweeps()
        if not sweeps:
            raise FitbenchError(f"no sweeps stored in {store.location}")
        for s in sweeps:
            invalid = f"\t{s['invalid']} invalid" if s.get("invalid") else ""
            sys.stdout.write(f"{printable(s['sweep_id'])}\t{s['ok']} ok\t{s['failed']} failed{invalid}\t"
                             f"{s['created_at'] or ''}\n")
        if not list_:
            raise FitbenchError("give --sweep ID (one of the sweeps listed above)")
        return
    loaded = load_sweep(store, sweep)
    if not output:
        raise FitbenchError("give -o FILE (.html, .md, .csv or .json)")
    if isinstance(loaded, Comparison):
        print_comparison(loaded)
        for out in output:
            for p in write_outputs(loaded, out):
                sys.stderr.write(f"wrote {p}\n")
    else:
        for out in output:
            for p in write_sweep_outputs(loaded, out):
                sys.stderr.write(f"wrote {p}\n")
