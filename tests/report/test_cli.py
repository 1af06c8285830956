"""``fitbench compare``, ``fitbench report`` and ``fitbench demo`` from the command line."""

from __future__ import annotations

import re

import pytest
import yaml
from hand_chips import HOLDER, STREAMER, matmul_model
from typer.testing import CliRunner

from fitbench.cli.app import _register, app

_register()
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "streamer.yaml").write_text(yaml.safe_dump(STREAMER))
    (d / "holder.yaml").write_text(yaml.safe_dump(HOLDER))
    return d, matmul_model(d / "mm.onnx")


def test_compare_then_report_from_the_store(files):
    d, mm = files
    db = d / "r.db"
    res = runner.invoke(app, ["compare", mm, "--hw", str(d / "streamer.yaml"), str(d / "holder.yaml"),
                              "--baseline", f"{mm}:batch=32", "-o", str(d / "c.html"), "-o", str(d / "c.json"),
                              "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "streamer drops from 1st to 2nd" in res.output
    assert (d / "c.html").stat().st_size > 1_000_000  # plotly.js inlined
    sweep = re.search(r"stored as sweep (\S+)", res.output).group(1)
    res = runner.invoke(app, ["report", "--db", str(db), "--list"])
    assert res.exit_code == 0 and sweep in res.output
    res = runner.invoke(app, ["report", "--db", str(db), "--sweep", sweep, "-o", str(d / "again.html")])
    assert res.exit_code == 0, res.output
    assert "holder" in (d / "again.html").read_text()
    res = runner.invoke(app, ["report", "--json", str(d / "c.json"), "-o", str(d / "j.md")])
    assert res.exit_code == 0 and (d / "j.md").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["compare", "MM", "--hw", "no-such-chip"], "unknown hardware 'no-such-chip'"),
    (["compare", "MM", "--hw", "HOLDER", "--batch", "0"], "--batch values must be positive"),
    (["compare", "MM", "--hw", "HOLDER", "-o", "x.pdf"], "unknown report format"),
    (["compare", "MM", "--hw", "HOLDER", "--format", "xml"], "--format must be"),
    (["report", "--db", "DB", "--sweep", "nope", "-o", "x.html"], "no results stored for sweep 'nope'"),
    (["report", "--json", "missing.json"], "no such file"),
])
def test_bad_input_is_one_line_exit_2(files, tmp_path, args, message):
    d, mm = files
    from fitbench.store import open_store

    open_store(tmp_path / "e.db").close()  # an existing (empty) database: these are other mistakes
    args = [{"MM": mm, "HOLDER": str(d / "holder.yaml"), "DB": str(tmp_path / "e.db")}.get(a, a) for a in args]
    args = [str(tmp_path / a) if a in ("x.pdf", "x.html", "missing.json") else a for a in args]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("args", [
    ["report", "--db", "TYPO", "--list"],
    ["report", "--db", "TYPO"],
    ["report", "--db", "TYPO", "--sweep", "s1", "-o", "OUT"],
])  # fmt: skip
def test_report_on_a_missing_database_is_refused_and_it_is_not_created(tmp_path, args):
    typo = tmp_path / "resutls.db"
    args = [{"TYPO": str(typo), "OUT": str(tmp_path / "r.html")}.get(a, a) for a in args]
    res = runner.invoke(app, args)
    assert (res.exit_code, res.stderr) == (2, f"error: no results database at {typo}\n")
    assert list(tmp_path.iterdir()) == []


def test_compare_with_db_still_creates_the_database(files, tmp_path):
    d, mm = files
    db = tmp_path / "sub" / "new.db"
    res = runner.invoke(app, ["compare", mm, "--hw", str(d / "holder.yaml"), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert db.is_file()
    sweep = re.search(r"stored as sweep (\S+)", res.output).group(1)
    res = runner.invoke(app, ["report", "--db", str(db), "--list"])
    assert res.exit_code == 0 and res.stdout.startswith(f"{sweep}\t")


@pytest.mark.slow
def test_demo_runs_on_defaults(tmp_path):
    # the demo stores into the default embedded database ($FITBENCH_DB, else ~/.fitbench/results.db)
    res = runner.invoke(app, ["demo", "-o", str(tmp_path / "demo")], env={"FITBENCH_DB": str(tmp_path / "results.db")})
    assert res.exit_code == 0, res.output
    out = tmp_path / "demo"
    assert {p.name for p in out.iterdir()} >= {"report.html", "report.md", "comparison.csv", "comparison.json",
                                               "report-throughput.png"}
    assert f"report: {(out / 'report.html').resolve()}" in res.output
    # the 4-camera edge box's verdict comes first, in the terminal and in the report
    assert res.output.index("Meets your requirements?") < res.output.index("Your workload:")
    assert (out / "comparison-requirements.csv").is_file()
    assert '<h2 id="requirements">Meets your requirements?</h2>' in (out / "report.html").read_text()
    from fitbench.store import open_store

    store = open_store(tmp_path / "results.db")
    kinds = {r.kind for r in store.query()}
    assert kinds == {"profile", "estimate", "measure", "comparison"}
