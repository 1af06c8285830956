"""``fitbench run``: INVALID marked in the table, the JSON and the one-line summary; --log-dir keeps LoadGen's
logs; --db/--save stores every batch with its conditions and validity (issue 14, part B)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.store import open_store

_register()
runner = CliRunner()
WARM = ["--warmup-count", "2", "--warmup", "0.05", "--threads", "1"]
# five queries, no minimum duration: LoadGen stops after 5 (fewer than the 64 a p90 needs)
FIVE = ["--min-count", "5", "--min-duration", "0", *WARM]
VALID = ["--min-count", "64", "--min-duration", "0.2", *WARM]


def _err(res) -> str:
    return res.stderr if getattr(res, "stderr", None) else res.output


def test_a_five_query_run_is_invalid_in_json_summary_logs_and_store(conv_path, tmp_path):
    out, db, logs = tmp_path / "run.json", tmp_path / "r.db", tmp_path / "logs"
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1", "-f", "json", "-o", str(out), "--db", str(db),
                              "--log-dir", str(logs), *FIVE])
    assert res.exit_code == 0, res.output
    (d,) = json.loads(out.read_text())
    v = d["validity"]
    n = d["latency"]["count"]
    assert n < 64 and v["count"] == n and v["min_count"] == 5
    assert v["verdict"] == "INVALID"
    assert f"{n} latencies, fewer than the 64 a p90 needs" in v["reasons"]
    assert v["reportable"] == {"p50": True, "p90": False, "p99": False}
    assert d["loadgen"]["result_validity"] in ("VALID", "INVALID")
    assert (v["loadgen"] == "INVALID") == any(r.startswith("LoadGen result INVALID") for r in v["reasons"])
    # the output went to a file: one summary line per batch on stderr, with the verdict and its reasons
    err = _err(res)
    line = next(ln for ln in err.splitlines() if "batch 1 single-stream" in ln)
    assert ": INVALID (" in line and f"{n} queries" in line and "fewer than the 64 a p90 needs" in line
    assert f"wrote {out}" in err
    # LoadGen's own logs kept under --log-dir/batch-1/single-stream, and the JSON points at them
    folder = logs / "batch-1" / "single-stream"
    summary = folder / "mlperf_log_summary.txt"
    assert d["loadgen"]["log_dir"] == str(folder.resolve())
    assert d["loadgen"]["summary_path"] == str(summary.resolve())
    assert f"Result is : {d['loadgen']['result_validity']}" in summary.read_text()
    assert (folder / "mlperf_log_detail.txt").stat().st_size > 0
    assert d["conditions"]["settings"]["log_dir"] == str((logs / "batch-1").resolve())
    # stored: status invalid, the reasons as its cause, the conditions and the validity in the row
    with open_store(db, create=False) as store:
        (row,) = store.query(kind="measure")
    assert row.status == "invalid" and row.cause == "; ".join(v["reasons"])
    assert row.sweep_id.startswith("run-") and f"stored as sweep {row.sweep_id}" in err
    assert row.batch == 1 and row.runtime == "onnxruntime" and row.precision == "fp32"
    assert row.conditions["command"].startswith("fitbench run ") and "--db" in row.conditions["command"]
    assert row.conditions["settings"]["min_count"] == 5 and row.conditions["model_sha256"] == d["conditions"][
        "model_sha256"]
    assert row.metrics["validity"] == v and row.metrics["loadgen"]["summary_path"] == str(summary.resolve())
    assert "summary_log" not in row.metrics["loadgen"]  # the log text stays in its file
    assert len(row.metrics["latencies_ms"]) == n


def test_the_table_marks_an_invalid_run_and_says_why(conv_path):
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1", *FIVE])
    assert res.exit_code == 0, res.output
    out = res.stdout
    row = next(ln for ln in out.splitlines() if ln.startswith("│ 1 "))
    assert "INVALID" in row
    assert "INVALID (batch 1): " in out and "fewer than the 64 a p90 needs" in out
    assert "p90 from 64 samples, p99 from 662" in out
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1", "--format", "csv", *FIVE])
    import csv
    import io

    (row,) = list(csv.DictReader(io.StringIO(res.stdout)))
    assert row["validity"].startswith("INVALID: ") and "fewer than the 64 a p90 needs" in row["validity"]


def test_valid_batches_are_stored_ok_one_log_folder_each_and_nothing_stored_is_lost(conv_path, tmp_path,
                                                                                     monkeypatch):
    db, logs, out = tmp_path / "r.db", tmp_path / "logs", tmp_path / "run.json"
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1,2", "-f", "json", "-o", str(out), "--db", str(db),
                              "--log-dir", str(logs), *VALID])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert [d["validity"]["verdict"] for d in data] == ["VALID", "VALID"], [d["validity"] for d in data]
    for b in (1, 2):
        assert "Result is : VALID" in (logs / f"batch-{b}" / "single-stream" / "mlperf_log_summary.txt").read_text()
    assert sum(": VALID, " in ln for ln in _err(res).splitlines()) == 2
    with open_store(db, create=False) as store:
        rows = store.query(kind="measure")
    assert [(r.batch, r.status, r.cause) for r in rows] == [(1, "ok", None), (2, "ok", None)]
    assert len({r.sweep_id for r in rows}) == 1
    assert [r.metrics["throughput"] for r in rows] == [d["throughput"] for d in data]
    # a run whose child fails is stored as failed beside them, and the rows stored before are untouched
    monkeypatch.setenv("FITBENCH_MEASURE_FAULT", "raise")
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1", "--db", str(db), *VALID])
    assert res.exit_code == 1
    with open_store(db, create=False) as store:
        after = store.query(kind="measure")
    assert [(r.id, r.status, r.metrics) for r in after[:2]] == [(r.id, r.status, r.metrics) for r in rows]
    assert after[2].status == "failed" and "injected failure" in after[2].cause
    assert after[2].sweep_id != rows[0].sweep_id


@pytest.mark.parametrize("args, message", [
    (["--driver", "direct", "--log-dir", "{tmp}/logs"], "error: --log-dir keeps LoadGen's logs; --driver direct"),
    (["--log-dir", "{tmp}/file.txt"], "error: --log-dir {tmp}/file.txt: not a folder"),
    (["--db", "{tmp}"], "error: database path"),
])
def test_bad_log_dir_or_db_is_one_line_before_any_work(conv_path, tmp_path, args, message):
    (tmp_path / "file.txt").write_text("x")
    res = runner.invoke(app, ["run", str(conv_path), *[a.format(tmp=tmp_path) for a in args], *FIVE])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in _err(res).splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(message.format(tmp=tmp_path)), lines


def test_a_sweep_keeps_loadgen_logs_per_point_and_stores_the_verdict(conv_path, tmp_path):
    from fitbench.sweep.runner import run_sweep
    from fitbench.sweep.spec import parse_sweep

    logs = tmp_path / "logs"
    spec = parse_sweep({"name": "lg", "kinds": "measure", "models": [{"path": str(conv_path)}], "batch": [1],
                        "runtime": "onnxruntime", "scenario": "single-stream",
                        "options": {"measure": {"log_dir": str(logs), "min_count": 5, "min_duration_s": 0.0,
                                                "warmup_count": 1, "warmup_s": 0.0, "threads": 1}}})
    run_sweep(spec, tmp_path / "r.db")
    with open_store(tmp_path / "r.db", create=False) as store:
        (row,) = store.query(sweep_id="lg")
    (folder,) = logs.iterdir()  # one folder per point: <model>-<runtime>-<scenario>-<key>
    assert folder.name == f"tiny_convnet-onnxruntime-single-stream-{row.point_key[:12]}"
    summary = folder / "batch-1" / "single-stream" / "mlperf_log_summary.txt"
    assert row.metrics["loadgen"]["summary_path"] == str(summary.resolve())
    n = row.metrics["latency"]["count"]
    assert n < 64 and row.status == "invalid" and f"{n} latencies, fewer than the 64 a p90 needs" in row.cause


def test_a_stored_run_is_reported_as_a_sweep_with_its_verdict(conv_path, tmp_path):
    db = tmp_path / "r.db"
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1", "--db", str(db), *FIVE])
    assert res.exit_code == 0, res.output
    with open_store(db, create=False) as store:
        (row,) = store.query(kind="measure")
    res = runner.invoke(app, ["report", "--db", str(db), "--sweep", row.sweep_id, "-o", str(tmp_path / "s.md"),
                              "-o", str(tmp_path / "s.html")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "s.md").read_text()
    assert f"| invalid: {row.cause.replace('(', chr(92) + '(').replace(')', chr(92) + ')')} |" in md
    assert f"invalid: {row.cause}" in (tmp_path / "s.html").read_text()
    listed = runner.invoke(app, ["report", "--db", str(db), "--list"])
    assert listed.stdout.startswith(f"{row.sweep_id}\t0 ok\t0 failed\t1 invalid\t")
    with open_store(db, create=False) as store:
        (info,) = store.list_sweeps()
    assert (info["stored"], info["ok"], info["failed"], info["invalid"]) == (1, 0, 0, 1)


def test_a_partial_run_is_invalid_everywhere_and_stored_invalid(conv_path, tmp_path, monkeypatch):
    # the child stalls after 20 timed runs (test hook); the 8 s timeout keeps those 20 as a partial result
    monkeypatch.setenv("FITBENCH_MEASURE_FAULT", "stall")
    out, db = tmp_path / "run.json", tmp_path / "r.db"
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1", "-f", "json", "-o", str(out), "--db", str(db),
                              "--timeout", "8", "--min-count", "20", "--min-duration", "30", *WARM])
    assert res.exit_code == 1, res.output  # no complete result
    (d,) = json.loads(out.read_text())
    reasons = d["validity"]["reasons"]
    assert d["validity"]["verdict"] == "INVALID" and reasons[0] == f"partial result ({d['partial']})"
    assert "20 latencies, fewer than the 64 a p90 needs" in reasons
    line = next(ln for ln in _err(res).splitlines() if "batch 1 single-stream" in ln)
    assert ": INVALID (partial result (timed out after 8 s" in line and "20 queries" in line
    with open_store(db, create=False) as store:
        (row,) = store.query(kind="measure")
    assert row.status == "invalid" and row.cause == "; ".join(reasons)
    assert len(row.metrics["latencies_ms"]) == 20
