"""Application requirements on hand-made chips whose latency is exact arithmetic.

The model is one MatMul of 2^20 MACs per sample (hand_chips.py). Every chip has 1024 int8 MACs/cycle, its
weights resident in 64 MiB of SRAM (no DRAM traffic), an on-SoC host link (no copy) and a per-call overhead,
so the estimator's latency of a call at batch N is ``overhead + N x 2^20 / (1024 x clock)``:

* ``a``: 1.024 MHz -> 1 ms per sample, 10 ms per call:  latency(N) = 10 + N ms;    TDP 10 W, 150 USD
* ``b``: 204.8 kHz -> 5 ms per sample, 10 ms per call:  latency(N) = 10 + 5N ms;   TDP 3 W, 100 USD
* ``c``: 1.024 GHz -> 1 us per sample, 60 ms per call:  latency(N) = 60 + 0.001N ms; TDP 3 W, 100 USD
  (the most peak TOPS and the fastest at batch 64: 64 / 60.064 ms = 1066/s against a's 64 / 74 ms = 865/s)

The application: 4 cameras x 50 fps = 200 frames/s, evenly spaced (5 ms apart), p99 budget 48 ms, host
resize 2 ms before and NMS 3 ms after. pipeline(N) = 2 + 5 (N - 1) + latency(N) + 3 ms:

* a: 6N + 10 <= 48 -> N = 6 (46 ms, 2 ms margin); 6 / 16 ms = 375/s; ceil(200 / 375) = 1 chip; 10 W; 150 USD
* b: 10N + 10 <= 48 -> N = 3 (40 ms, 8 ms margin); 3 / 25 ms = 120/s; ceil(200 / 120) = 2 chips; 6 W; 200 USD
* c: already 65.001 ms at N = 1: fails by 17.001 ms
"""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from fitbench.compare import compare
from fitbench.compare.app_file import application_from_dict, application_from_options, load_application
from fitbench.compare.requirements import Application, HostStage, erlang_quantile
from fitbench.errors import FitbenchError, SpecError

MS = 1e-3
LOAD = 4 * 50


def chip(name: str, clock: str, overhead: str, **kw) -> dict:
    d = {"name": name, "source": "test: hand-made", "clock": clock, "macs_per_cycle": {"int8": 1024},
         "sram": "64 MiB", "dram_bandwidth": "1 GB/s", "winograd": "none", "overlap": True,
         "inference_overhead": overhead, "host_link": "on-soc"}
    d.update(kw)
    return d


A = chip("a", "1.024 MHz", "10 ms", tdp="10 W", price="150 USD")
B = chip("b", "204.8 kHz", "10 ms", tdp="3 W", price="100 USD")
C = chip("c", "1.024 GHz", "60 ms", tdp="3 W", price="100 USD")
HOST = [HostStage("resize", "pre", 2 * MS), HostStage("nms", "post", 3 * MS)]


def camera_app(**kw) -> Application:
    d = dict(name="4-camera box", streams=4, fps=50, latency_budget_s=48 * MS, host=list(HOST))
    d.update(kw)
    return Application(**d)


def run(mm_path, app, hw=(A, B, C)):
    return compare(mm_path, hw=list(hw), baseline=f"{mm_path}:batch=64", app=app, batch_curve=(1,))


@pytest.fixture(scope="module")
def power_app_comp(mm_path):
    return run(mm_path, camera_app(objective="power", power_w=8.0, max_chips=4))


def test_batch_chosen_under_the_budget_by_the_queueing_model(power_app_comp):
    req = power_app_comp.requirements
    a, b = req.verdict("a"), req.verdict("b")
    assert a.batch == 6 and b.batch == 3
    assert a.wait_s == pytest.approx(5 * 5 * MS) and b.wait_s == pytest.approx(2 * 5 * MS)
    assert a.chip_latency_s == pytest.approx(16 * MS) and b.chip_latency_s == pytest.approx(25 * MS)
    assert a.pipeline_latency_s == pytest.approx(46 * MS) and b.pipeline_latency_s == pytest.approx(40 * MS)
    assert a.check("latency").margin == pytest.approx(2 * MS)
    assert b.check("latency").margin == pytest.approx(8 * MS)
    # the batch after the chosen one breaks the budget: a at 7 = 52 ms
    nxt = next(p for p in a.curve if p.batch == 7)
    assert nxt.pipeline_s == pytest.approx(52 * MS) and not nxt.within_budget
    assert "waiting for the 6th frame" in a.check("latency").sentence


def test_chips_needed_power_and_price_for_the_load(power_app_comp):
    req = power_app_comp.requirements
    a, b = req.verdict("a"), req.verdict("b")
    assert req.load_ips == LOAD
    assert a.rate_per_chip_ips == pytest.approx(6 / (16 * MS)) and a.chips == 1
    assert b.rate_per_chip_ips == pytest.approx(3 / (25 * MS)) and b.chips == math.ceil(200 / 120)
    assert (a.power_w, a.power_method) == (pytest.approx(10.0), "TDP x chips")
    assert b.power_w == pytest.approx(2 * 3.0)
    assert a.price_usd == pytest.approx(150.0) and b.price_usd == pytest.approx(2 * 100.0)
    assert b.inferences_per_joule == pytest.approx(200 / 6.0)


def test_requirement_failed_by_a_stated_margin(power_app_comp):
    req = power_app_comp.requirements
    a = req.verdict("a")  # 10 W against the 8 W budget: 2 W (25%) over
    assert a.status == "fails"
    (p,) = a.failed
    assert p.requirement == "power" and p.margin == pytest.approx(8.0 - 10.0)
    assert "2 W (25%) over the 8 W budget" in p.sentence
    c = req.verdict("c")  # never dropped: listed with its failures
    lat = c.check("latency")
    assert c.status == "fails" and lat.status == "failed" and c.batch == 1
    assert lat.margin == pytest.approx(48 * MS - (2 + 60.001 + 3) * MS)
    assert "17 ms" in lat.sentence and "over the 48 ms budget" in lat.sentence
    assert {v.offering for v in req.verdicts} == {"a", "b", "c"}
    assert req.winner == "b" and req.verdict("b").rank == 1


def test_chip_limit_fails_by_the_chips_over(mm_path):
    req = run(mm_path, camera_app(max_chips=1)).requirements
    chips = req.verdict("b").check("chips")
    assert chips.status == "failed" and chips.value == 2 and chips.margin == -1
    assert "1 over the 1 allowed" in chips.sentence
    assert req.winner == "a"


@pytest.mark.parametrize("objective, winner", [("power", "b"), ("chips", "a"), ("price", "a")])
def test_the_objective_changes_the_winner(mm_path, objective, winner):
    # b: 2 chips, 6 W, 200 USD; a: 1 chip, 10 W, 150 USD (both meet a 20 W budget)
    req = run(mm_path, camera_app(objective=objective, power_w=20.0)).requirements
    assert req.winner == winner
    assert [v.offering for v in req.verdicts if v.status == "meets"][0] == winner


def test_the_resnet50_large_batch_pick_fails_the_latency_budget(power_app_comp):
    comp = power_app_comp
    base_pick = next(r.offering for r in comp.rows if r.baseline_rank == 1)
    assert base_pick == "c"  # 64 / 60.064 ms = 1066/s beats a's 64 / 74 ms = 865/s at batch 64
    assert comp.offering("c").at("baseline", 64).throughput_ips == pytest.approx(64 / (60.064 * MS))
    req = comp.requirements
    assert req.verdict("c").check("latency").status == "failed"
    assert req.verdict(req.winner).check("latency").status == "met"
    base, tops = req.picks
    assert base.offering == "c" and not base.same and "fails the latency requirement" in base.sentence
    assert tops.basis == "peak TOPS" and tops.offering == "c"


def test_energy_model_power_counts_static_power_of_every_chip(mm_path):
    # with energy figures the power is energy/inference x load + static W x idle chip-time: static 2 W on the one
    # chip (busy or idle) plus 2^20 MACs x 1 pJ per frame x 200 frames/s
    e = dict(A, name="e", energy={"per_mac": "1 pJ", "static": "2 W"})
    v = run(mm_path, camera_app(), hw=[e]).requirements.verdict("e")
    assert v.power_method == "energy model x load"
    assert v.power_w == pytest.approx(2.0 + 2**20 * 1e-12 * 200, rel=1e-9)


def test_poisson_arrivals_wait_for_the_erlang_quantile(mm_path):
    # one gap: -ln(1 - 0.99) / 200 = 23.03 ms; two gaps: the x with 1 - e^-x (1 + x) = 0.99, over 200/s
    assert erlang_quantile(1, 200, 0.99) == pytest.approx(-math.log(0.01) / 200)
    x2 = erlang_quantile(2, 200, 0.99) * 200
    assert 1 - math.exp(-x2) * (1 + x2) == pytest.approx(0.99, abs=1e-9)
    x3 = erlang_quantile(3, 200, 0.99) * 200
    assert 1 - math.exp(-x3) * (1 + x3 + x3 * x3 / 2) == pytest.approx(0.99, abs=1e-9)
    # a: N = 3 waits x2/200 = 33.2 ms + 13 ms = 46.2 ms <= 48; N = 4 waits x3/200 = 42.0 ms + 14 ms > 48
    v = run(mm_path, Application(qps=200, latency_budget_s=48 * MS), hw=[A]).requirements.verdict("a")
    assert v.batch == 3
    assert v.pipeline_latency_s == pytest.approx(x2 / 200 + 13 * MS)


def test_application_file_and_options(tmp_path, mm_path):
    f = tmp_path / "camera.yaml"
    f.write_text("name: box\nmodel: mm.onnx\nstreams: 4\nfps: 50\nlatency: 48 ms\npower: 15W\nprice: 500 USD\n"
                 "max_chips: 4\nobjective: chips\nhost:\n  - {name: resize, stage: pre, time: 2 ms}\n"
                 "  - {name: nms, stage: post, time: 3ms}\n")
    app = load_application(f)
    assert (app.rate, app.latency_budget_s, app.power_w, app.price_usd, app.max_chips) == (200, 0.048, 15, 500, 4)
    assert (app.pre_s, app.post_s) == (pytest.approx(0.002), pytest.approx(0.003))
    assert app.model == str(tmp_path / "mm.onnx")  # relative to the file
    over = application_from_options(app, fps=25, latency="60ms", power="10W")
    assert (over.rate, over.latency_budget_s, over.power_w, over.objective) == (100, 0.06, 10, "chips")
    cli = application_from_options(streams=2, fps=30, latency="50ms", percentile=90, price="$300", pre=["resize=1ms"])
    assert (cli.rate, cli.percentile, cli.price_usd, cli.pre_s) == (60, 90, 300, pytest.approx(0.001))
    assert application_from_options() is None


@pytest.mark.parametrize("d, words", [
    ({"streams": 4, "fps": 30}, "'latency' is required"),
    ({"streams": 4, "fps": 30, "latency": "50 ms", "colour": "red"}, "unknown key 'colour'"),
    ({"streams": 4, "fps": 30, "latency": "50 parsecs"}, "unknown unit"),
    ({"streams": 4, "fps": 30, "qps": 10, "latency": "50 ms"}, "not both"),
    ({"latency": "50 ms"}, "needs its load"),
    ({"streams": 4, "fps": 30, "latency": "50 ms", "objective": "speed"}, "objective must be one of"),
    ({"streams": 4, "fps": 30, "latency": "5 ms", "host": [{"name": "nms", "stage": "post", "time": "6 ms"}]},
     "no chip can meet it"),
    ({"streams": 4, "fps": 30, "latency": "50 ms", "price": "lots"}, "price in US dollars"),
])
def test_bad_application_is_one_line(d, words):
    with pytest.raises(SpecError) as exc:
        application_from_dict(d)
    msg = str(exc.value)
    assert words in msg and "\n" not in msg


def test_options_without_a_budget_are_an_error():
    with pytest.raises(FitbenchError, match="latency budget"):
        application_from_options(streams=4, fps=30)


def test_cli_requirements_and_bad_input(tmp_path, mm_path):
    import yaml

    from fitbench.cli.app import _register, app

    _register()
    specs = []
    for d in (A, B, C):
        p = tmp_path / f"{d['name']}.yaml"
        p.write_text(yaml.safe_dump(d))
        specs += ["--hw", str(p)]
    runner = CliRunner()
    args = ["compare", mm_path, *specs, "--baseline", f"{mm_path}:batch=64", "--streams", "4", "--fps", "50",
            "--latency", "48ms", "--power", "8W", "--pre", "resize=2ms", "--post", "nms=3ms"]
    res = runner.invoke(app, args + ["--format", "json"])
    assert res.exit_code == 0, res.output
    import json

    req = json.loads(res.stdout)["requirements"]
    assert req["winner"] == "b"
    assert {v["offering"]: v["batch"] for v in req["verdicts"]} == {"a": 6, "b": 3, "c": 1}
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "Meets your requirements?" in res.stdout
    bad = runner.invoke(app, ["compare", mm_path, *specs, "--streams", "4", "--fps", "50", "--latency", "48 furlongs"])
    assert bad.exit_code == 2
    lines = [x for x in bad.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "unknown unit" in lines[0]


@pytest.mark.slow
def test_this_machine_against_the_requirement_with_loadgen_server(mm_path):
    # one LoadGen server run at the required 200 QPS against the bound: the 48 ms budget less 5 ms of host stages
    comp = compare(mm_path, hw=[A], baseline=f"{mm_path}:batch=64", app=camera_app(), batch_curve=(1,),
                   measure_runtimes=["onnxruntime"])
    (chk,) = comp.requirements.runtime_checks
    assert (chk["scenario"], chk["qps"], chk["percentile"]) == ("server", 200, 99)
    assert chk["bound_s"] == pytest.approx(43 * MS)
    assert chk["status"] == "ok" and chk["validity"] in ("VALID", "INVALID")
    assert chk["samples"] >= 662  # enough queries for a p99
    assert chk["result"]["scenario"] == "server" and chk["result"]["conditions"]["server_qps"] == 200
    assert chk["meets"] == (chk["validity"] == "VALID" and chk["latency_s"] <= chk["bound_s"])
    assert f"LoadGen {chk['validity']}" in chk["sentence"]
    # the measured runtime is an offering of the verdict too (its measured p99 at batch 1)
    v = comp.requirements.verdict("onnxruntime (this machine)")
    assert v.batch == 1 and v.method == "measured p99"


@pytest.mark.slow
def test_a_machine_that_cannot_keep_up_is_not_run(mm_path):
    comp = compare(mm_path, hw=[A], baseline=f"{mm_path}:batch=64", batch_curve=(1,), measure_runtimes=["onnxruntime"],
                   app=Application(qps=1e7, latency_budget_s=48 * MS))
    (chk,) = comp.requirements.runtime_checks
    assert chk["status"] == "not run" and chk["meets"] is False and "cannot keep up" in chk["sentence"]


def test_host_stage_timed_on_this_machine(tmp_path):
    # a stage that sleeps 20 ms per call: its p99 time is at least 20 ms (sleep never returns early)
    (tmp_path / "stages.py").write_text("import time\n\ndef nms():\n    time.sleep(0.02)\n")
    f = tmp_path / "app.yaml"
    f.write_text("streams: 1\nfps: 10\nlatency: 200 ms\n"
                 "host:\n  - {name: nms, stage: post, callable: 'stages.py:nms'}\n")
    app = load_application(f)
    (h,) = app.host
    assert h.stage == "post" and 0.02 <= h.time_s < 0.2 and h.measured.startswith("stages.py:nms: p99 of")
    assert app.post_s == h.time_s


@pytest.mark.parametrize("stage, words", [
    ({"name": "nms"}, "one of the two"),
    ({"name": "nms", "time": "1 ms", "callable": "x:y"}, "one of the two"),
    ({"name": "nms", "callable": "no_such_module_xyz:f"}, "cannot be imported"),
    ({"name": "nms", "callable": "math:no_such_fn"}, "has no function"),
])
def test_bad_host_stage_callable_is_one_line(stage, words):
    with pytest.raises(FitbenchError) as exc:
        application_from_dict({"streams": 1, "fps": 10, "latency": "50 ms", "host": [stage]})
    assert words in str(exc.value) and "\n" not in str(exc.value)
