"""The typer command-line interface (thin: parse, call the library, render)."""
