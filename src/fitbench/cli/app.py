"""The ``fitbench`` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

from .common import OneLineErrors

app = typer.Typer(
    cls=OneLineErrors,
    name="fitbench",
    help="Which inference offering is best for MY application? Profile, estimate, measure, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="print the fitbench version and exit"),
) -> None:
    """Which inference offering is best for MY application?"""
    if version:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:  # options but no command: the help, as for no arguments at all
        typer.echo(ctx.get_help())
        raise typer.Exit(2)


def _register() -> None:
    from . import calibrate as calibrate_cmd
    from . import compare as compare_cmd
    from . import demo as demo_cmd
    from . import estimate as estimate_cmd
    from . import hw as hw_cmd
    from . import kit as kit_cmd
    from . import profile as profile_cmd
    from . import report as report_cmd
    from . import results as results_cmd
    from . import run as run_cmd
    from . import sweep as sweep_cmd
    from . import validate as validate_cmd
    from . import zoo as zoo_cmd

    profile_cmd.register(app)
    zoo_cmd.register(app)
    hw_cmd.register(app)
    estimate_cmd.register(app)
    run_cmd.register(app)
    sweep_cmd.register(app)
    results_cmd.register(app)
    compare_cmd.register(app)
    report_cmd.register(app)
    demo_cmd.register(app)
    validate_cmd.register(app)
    kit_cmd.register(app)
    calibrate_cmd.register(app)


def main() -> None:
    _register()
    app()


if __name__ == "__main__":
    main()
