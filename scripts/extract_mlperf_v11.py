"""Extract the published-figures dataset from a local copy of MLPerf Inference v1.1 results (a developer tool).

    python scripts/extract_mlperf_v11.py GIT_DIR [--nvdla-doc GIT_DIR] [-o src/fitbench/validation/data/published.yaml]

``GIT_DIR`` is a git directory of github.com/mlcommons/inference_results_v1.1 (read with ``git show``; no work
tree needed); ``--nvdla-doc`` one of github.com/nvdla/doc for the primer's ResNet-50 table. Nothing here runs in
fitbench itself or in its tests: the YAML it writes is the shipped dataset, and this script is how it was made.

Rules (each point's ``notes`` repeat what applies to it):

* CLOSED division, systems whose ``systems/*.json`` says ``accelerators_per_node`` = 1; MIG slices (a fraction
  of a GPU), MaxQ runs (power-capped, not the datasheet clock) and HeteroMultiUse runs are left out. A Triton run
  is kept only where the same system has no plain TensorRT run of that model and scenario.
* Models: resnet50 (also named ``resnet``), ssd-mobilenet (``ssd-small``), ssd-resnet34, bert-99.
* The figure is ``results/<system>/<model>/<scenario>/performance/run_1/mlperf_log_summary.txt``: "Samples per
  second" (Offline), "90th percentile latency (ns)" (SingleStream, stored in seconds), "Scheduled samples per
  second" (Server). A summary whose own scenario differs from its folder's is left out.
* Batch: the submission's own statement where there is one (NVIDIA-harness ``configs/<bench>/<Scenario>``
  ``gpu_batch_size``; Qualcomm's and FuriosaAI's code READMEs / build scripts); SingleStream otherwise batch 1
  (the scenario sends one sample at a time); Offline otherwise batch 8 (unstated; a fitbench convention) with
  ``batch_stated: false``.
* Precision: the measurements' ``weight_data_types`` (or the NVIDIA config's ``precision``).
* BERT: every v1.1 BERT submission kept here drops SQuAD's padding (NVIDIA's TensorRT code, used by Dell, Inspur
  and Lenovo too: "we truncate the padded part of the input sequences and concatenate the truncated sequences";
  Qualcomm's code is ``packed-bert``). A batched (Offline) point's ``effective`` workload is therefore the mean
  real sequence length: SQuAD v1.1 at a maximum of 384 tokens is 54 % padding (:data:`SQUAD_PADDING`), so
  round(0.46 x 384) = 177 tokens. A SingleStream point reports the 90th-percentile sample, whose length is not
  published: it stays at 384, an upper bound (its notes say so).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = "mlcommons/inference_results_v1.1"
NVDLA_REPO = "nvdla/doc"
OUT = Path(__file__).resolve().parents[1] / "src" / "fitbench" / "validation" / "data" / "published.yaml"

MODELS = {  # MLPerf folder name -> (benchmark, zoo name, zoo params, NVIDIA config folder)
    "resnet50": ("resnet50", "resnet50", {"resolution": "224x224"}, "resnet50"),
    "resnet": ("resnet50", "resnet50", {"resolution": "224x224"}, "resnet50"),
    "ssd-mobilenet": ("ssd-mobilenet", "ssd-mobilenet-v1", {"resolution": "300x300"}, "ssd-mobilenet"),
    "ssd-small": ("ssd-mobilenet", "ssd-mobilenet-v1", {"resolution": "300x300"}, "ssd-mobilenet"),
    "ssd-resnet34": ("ssd-resnet34", "ssd-resnet34", {"resolution": "1200x1200"}, "ssd-resnet34"),
    "ssd-large": ("ssd-resnet34", "ssd-resnet34", {"resolution": "1200x1200"}, "ssd-resnet34"),
    "bert-99": ("bert-99", "bert-large", {"seq_len": 384}, "bert"),
}
SCENARIOS = {"offline": "offline", "singlestream": "single-stream", "server": "server",
             "multistream": "multi-stream"}
CNN = {"resnet50", "ssd-mobilenet", "ssd-resnet34"}
#: padding share of SQuAD v1.1's tokens at a maximum sequence length of 384 (OpenReview 3nzKUh9a4M, abstract)
SQUAD_PADDING = 0.54
UNPADDED_CODE = {  # submitter -> the code path that shows its BERT drops the padding
    "NVIDIA": "closed/NVIDIA/code/bert/tensorrt/README.md ('Variable Sequence Lengths')",
    "Dell": "closed/Dell/code/bert/tensorrt/README.md ('Variable Sequence Lengths')",
    "Inspur": "closed/Inspur/code/bert/tensorrt/README.md ('Variable Sequence Lengths')",
    "Lenovo": "closed/Lenovo/code/bert-99.9/tensorrt/README.md ('Variable Sequence Lengths')",
    "Qualcomm": "closed/Qualcomm/code/bert-99/packed-bert-qaic-loadgen/README.md (packed BERT)",
}


def bert_effective(sub: str, scenario: str) -> tuple[dict | None, str | None]:
    """``(effective, note)`` of a BERT point (module doc): the mean real length for a batched point of a
    submitter whose code drops the padding; a note for a SingleStream one."""
    if sub not in UNPADDED_CODE:
        return None, None
    if scenario == "single-stream":
        return None, (f"the submission drops padding ({UNPADDED_CODE[sub]}); the 90th-percentile sample's real "
                      f"length is not published, so 384 tokens (an upper bound) is estimated")
    tokens = round((1 - SQUAD_PADDING) * 384)
    return {
        "params": {"seq_len": tokens},
        "why": (f"the submission drops SQuAD's padding ({UNPADDED_CODE[sub]}): the batch holds real tokens only, "
                f"on average (1 - {SQUAD_PADDING}) x 384 = {tokens} per sample (attention estimated at the mean "
                f"length, which slightly under-counts its quadratic term)"),
        "source": {"document": "OpenReview 3nzKUh9a4M (removing the padding of BERT inputs), abstract",
                   "table": "'For SQuAD-v1.1, padding accounts for 54% of the total input tokens when the max "
                            "sequence length is 384'"},
    }, None

# accelerator_model_name -> catalog name; the Xaviers' Offline CNN runs use the GPU and both DLAs (hw_notes)
ACCELERATORS = {
    "NVIDIA A100-SXM-80GB": "nvidia-a100-sxm4-80gb",
    "NVIDIA A100-PCIe-80GB": "nvidia-a100-pcie-80gb",
    "NVIDIA A100-PCIe-40GB": "nvidia-a100-pcie-40gb",
    "NVIDIA A10": "nvidia-a10",
    "NVIDIA A30": "nvidia-a30",
    "NVIDIA T4": "nvidia-t4",
    "Nvidia Tesla T4": "nvidia-t4",
    "NVIDIA AGX Xavier": "jetson-agx-xavier",
    "NVIDIA Xavier NX": "jetson-xavier-nx",
    "QUALCOMM Cloud AI 100 PCIe HHHL": "qualcomm-cloud-ai-100-pro",
    "QUALCOMM Cloud AI 100 DM.2e": "qualcomm-cloud-ai-100-dm2e",
    "QUALCOMM Cloud AI 100 DM.2": "qualcomm-cloud-ai-100-dm2",
    "FuriosaAI Warboy": "furiosa-warboy",
    "Centaur Integrated AI Coprocessor (2.0GHz)": "centaur-ncore-2.0ghz",
    "Centaur Integrated AI Coprocessor (2.5GHz)": "centaur-ncore-2.5ghz",
    "DNA-F200 v2 on Alveo U50": "edgecortix-dna-f200-alveo-u50",
}
CHIP_NOTES = {
    "qualcomm-cloud-ai-100-pro": "the system names the card 'Cloud AI 100 PCIe HHHL' (75 W) with 144 MB on-chip "
                                 "memory, the 16-core SoC of the later 'Pro' SKU (the 'Standard' SKU has 126 MB); "
                                 "its 16 GB DRAM is the Standard's capacity",
}


class Repo:
    def __init__(self, git_dir: str) -> None:
        self.git = ["git", f"--git-dir={git_dir}"]
        self.commit = self._run("rev-parse", "HEAD").strip()
        self.files = set(self._run("ls-tree", "-r", "--name-only", "HEAD").splitlines())

    def _run(self, *args: str) -> str:
        return subprocess.run(self.git + list(args), capture_output=True, text=True, check=True).stdout

    def show(self, path: str) -> str | None:
        if path not in self.files:
            return None
        return self._run("show", f"HEAD:{path}")


def summary_fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in out:
            out[key.strip()] = value.strip()
    return out


def nvidia_configs(text: str) -> dict[str, dict]:
    """Every class of an NVIDIA-harness config file: its fields, inherited from base classes in the file."""
    raw: dict[str, dict] = {}
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef):
            continue
        d: dict = {"_bases": [b.id for b in node.bases if isinstance(b, ast.Name)]}
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call):
                d["_register"] = [a.attr for a in dec.args if isinstance(a, ast.Attribute)]
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                if isinstance(stmt.value, ast.Constant):
                    d[stmt.targets[0].id] = stmt.value.value
        if node.name in raw and node.name in d["_bases"]:  # ``class X(X)``: a redefinition extending X
            d = {**raw[node.name], **d, "_bases": raw[node.name]["_bases"]}
        raw[node.name] = d

    def resolve(name: str, seen: frozenset = frozenset()) -> dict:
        d = raw[name]
        merged: dict = {}
        for base in d["_bases"]:
            if base in raw and base not in seen and base != name:
                merged.update(resolve(base, seen | {name}))
        merged.update(d)
        return merged

    return {name: resolve(name) for name in raw}


def config_class(system: str) -> str:
    """``DGX-A100_A100-SXM-80GBx1_TRT_Triton`` -> ``A100_SXM_80GBx1_Triton`` (the harness's class naming)."""
    triton = system.endswith("_Triton")
    name = system.removesuffix("_Triton").removesuffix("_TRT").removeprefix("DGX-A100_")
    name = name.replace("-", "_").replace(".", "")
    return name + ("_Triton" if triton else "")


def batch_of(repo: Repo, sub: str, system: str, bench_dir: str, scen_dir: str, bench: str, scenario: str,
             chip: str) -> tuple[int, bool, str, str | None]:
    """(batch, stated, how it was found, precision found there)."""
    cfg_path = f"closed/{sub}/configs/{bench_dir}/{scen_dir}/__init__.py"
    text = repo.show(cfg_path)
    if text:
        classes = nvidia_configs(text)
        cls = config_class(system)
        if cls not in classes and "_" in cls:  # Inspur: NF5488A5_A100_SXM_80GBx1 runs the A100_SXM_80GBx1 class
            cls = cls.split("_", 1)[1]
        if cls in classes and "gpu_batch_size" in classes[cls]:
            c = classes[cls]
            how = f"gpu_batch_size = {c['gpu_batch_size']} in class {cls} of {cfg_path}"
            if "dla_batch_size" in c and chip in ("jetson-agx-xavier", "jetson-xavier-nx") and bench in CNN:
                how += f" (the two DLAs: dla_batch_size = {c['dla_batch_size']})"
            return int(c["gpu_batch_size"]), True, how, c.get("precision")
    if sub == "Qualcomm" and bench == "resnet50" and scenario == "offline":
        path = "closed/Qualcomm/code/resnet50/image-classification-qaic-loadgen/README.md"
        if "8 samples per batch (for the Server and Offline scenarios)" in (repo.show(path) or ""):
            return 8, True, f"{path}: '8 samples per batch (for the Server and Offline scenarios)'", None
    if sub == "FuriosaAI":
        path = f"closed/FuriosaAI/code/build_{'offline' if scenario == 'offline' else 'single_stream'}.sh"
        script = repo.show(path) or ""
        folder = {"resnet50": "resnet50", "ssd-mobilenet": "ssd-mobilenet", "ssd-resnet34": "ssd-resnet34"}[bench]
        block = script.split(f"cd {folder}\n", 1)[-1].split("cd -", 1)[0] if f"cd {folder}\n" in script else ""
        m = re.search(r"\s-b\s+(\d+)", block)
        if m:
            return int(m.group(1)), True, f"{path}: the {folder} model is compiled with -b {m.group(1)}", None
        if block:
            return 1, True, f"{path}: the {folder} model is compiled without -b (batch 1)", None
    if scenario == "single-stream":
        return 1, False, "batch not stated; SingleStream sends one sample per query (batch 1)", None
    return 8, False, "batch not stated in the submission; 8 assumed (fitbench's convention for an unstated " \
                     "Offline batch)", None


def precision_of(repo: Repo, sub: str, system: str, model_dir: str, scen_dir: str) -> str | None:
    prefix = f"closed/{sub}/measurements/{system}/{model_dir}/{scen_dir}/"
    for f in sorted(repo.files):
        if f.startswith(prefix) and f.endswith(".json"):
            try:
                d = json.loads(repo.show(f) or "{}")
            except json.JSONDecodeError:
                continue
            w = str(d.get("weight_data_types", "")).lower()
            for p in ("int8", "fp16", "fp32"):
                if p in w:
                    return p
    return None


def mlperf_points(repo: Repo) -> list[dict]:
    systems = {}
    for f in sorted(repo.files):
        m = re.match(r"^closed/([^/]+)/systems/([^/]+)\.json$", f)
        if m:
            d = json.loads(repo.show(f))
            if str(d.get("accelerators_per_node")).strip() == "1":
                systems[m.groups()] = d
    found = []
    pat = re.compile(r"^closed/([^/]+)/results/([^/]+)/([^/]+)/([^/]+)/performance/run_1/mlperf_log_summary\.txt$")
    for f in sorted(repo.files):
        m = pat.match(f)
        if not m:
            continue
        sub, system, model_dir, scen_dir = m.groups()
        if (sub, system) not in systems or model_dir not in MODELS or scen_dir.lower() not in SCENARIOS:
            continue
        if "MIG" in system or "MaxQ" in system or "Hetero" in system:
            continue
        found.append((sub, system, model_dir, scen_dir, f))
    plain = {(s, sy, m, sc) for s, sy, m, sc, _ in found if not sy.endswith("_Triton")}
    points = []
    for sub, system, model_dir, scen_dir, path in found:
        if system.endswith("_Triton") and (sub, system.removesuffix("_Triton"), model_dir, scen_dir) in plain:
            continue
        sd = systems[(sub, system)]
        accel = sd["accelerator_model_name"]
        if accel not in ACCELERATORS:
            sys.stderr.write(f"skipped (accelerator not mapped): {accel!r} {path}\n")
            continue
        fields = summary_fields(repo.show(path))
        scenario = SCENARIOS[scen_dir.lower()]
        if SCENARIOS.get(fields.get("Scenario", "").replace(" ", "").lower()) != scenario:
            sys.stderr.write(f"skipped (summary's scenario {fields.get('Scenario')!r} != folder's): {path}\n")
            continue
        if fields.get("Result is") != "VALID":
            continue
        bench, zoo, params, cfg_dir = MODELS[model_dir]
        chip = ACCELERATORS[accel]
        notes = []
        if chip in ("jetson-agx-xavier", "jetson-xavier-nx"):
            if scenario == "offline" and bench in CNN:
                notes.append("Offline CNN runs use the GPU and both DLAs (the system's hw_notes): the whole SoC")
            else:
                chip += "-gpu"
                notes.append("GPU only (the system's hw_notes name the DLAs for Offline CNN runs only)")
        if chip in CHIP_NOTES:
            notes.append(CHIP_NOTES[chip])
        batch, stated, how, cfg_prec = batch_of(repo, sub, system, cfg_dir, scen_dir, bench, scenario, chip)
        notes.append(how)
        prec = precision_of(repo, sub, system, model_dir, scen_dir) or cfg_prec or "int8"
        if scenario == "offline":
            metric, value = "throughput_ips", float(fields["Samples per second"])
        elif scenario == "server":
            metric, value = "throughput_ips", float(fields["Scheduled samples per second"])
        elif scenario == "single-stream":
            metric, value = "latency_s", int(fields["90th percentile latency (ns)"]) / 1e9
        else:
            continue
        if system.endswith("_Triton"):
            notes.append("Triton Inference Server run (the system has no plain TensorRT run of this model)")
        notes.append(f"MLPerf benchmark {model_dir} ({bench}); submitter {sub}; {sd.get('framework', '')}".strip())
        effective, eff_note = bert_effective(sub, scenario) if bench == "bert-99" else (None, None)
        if eff_note:
            notes.append(eff_note)
        point = {
            "chip": chip, "model": zoo, "params": dict(params), "batch": batch, "batch_stated": stated,
            "precision": prec, "scenario": scenario, "metric": metric, "value": value,
            "system": f"{sub}/{system}",
            "source": {"repository": REPO, "path": path, "commit": repo.commit},
            "notes": "; ".join(notes),
        }
        if effective:
            point["effective"] = effective
        points.append(point)
    return points


NVDLA_NAMES = {2048: "nvdla-nv-large", 64: "nvdla-nv-small"}


def nvdla_points(repo: Repo) -> list[dict]:
    text = repo.show("doc/primer.rst")
    lines = text.splitlines()
    title = "Example Area and Performance with NVDLA"
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    points = []
    for i in range(start, len(lines)):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")] if lines[i].startswith("|") else []
        if len(cells) == 7 and cells[0].isdigit():
            macs, cbuf, bw, fps = int(cells[0]), int(cells[1]), float(cells[2]), float(cells[5])
            chip = NVDLA_NAMES.get(macs, f"nvdla-{macs}mac-{cbuf}kb")
            points.append({
                "chip": chip, "model": "resnet50", "params": {"resolution": "224x224"}, "batch": 1,
                "batch_stated": False, "precision": "int8", "scenario": "offline", "metric": "throughput_ips",
                "value": fps, "system": f"NVDLA {macs} MACs, {cbuf} KB conv. buffer, {cells[2]} GB/s SDRAM",
                "source": {"document": "NVDLA Primer (nvdla.org hw/v1 primer; doc/primer.rst)",
                           "table": f"'{title}': the row '# MACs {macs}, conv. buffer {cbuf} KB, SDRAM "
                                    f"{cells[2]} GB/s' (Int8 ResNet-50 frames/sec, at 1 GHz, no on-chip SRAM)",
                           "repository": NVDLA_REPO, "path": "doc/primer.rst", "commit": repo.commit},
                "notes": f"estimates from NVIDIA's performance model, not silicon; {macs} INT8 MACs, {cbuf} KB "
                         f"convolution buffer, {bw:g} GB/s DRAM, 1 GHz; no batch stated (batch 1: nv_small and "
                         f"nv_large disable NVDLA's batch mode)",
            })
    return points


HEADER = """\
# The published-figures dataset: fitbench's calibration set (issue 11).
# Generated by scripts/extract_mlperf_v11.py from {repo} at commit {commit}
# (CLOSED division, single-accelerator systems) and from the NVDLA primer's ResNet-50 table ({nvdla}
# doc/primer.rst at {nvdla_commit}). Every point names its source; the rules are in the script's docstring.
# Fields: chip (catalog name), model (zoo name), params (zoo parameters; resolution is WIDTHxHEIGHT), batch,
# batch_stated, precision, scenario (offline | single-stream | server | multi-stream), metric (throughput_ips:
# samples/s, or latency_s: seconds), value, system, source ({{repository, path[, commit]}} or
# {{document, table}}), notes, effective (optional: the zoo params the submission really ran, why, source).
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("git_dir", help="git directory of mlcommons/inference_results_v1.1")
    ap.add_argument("--nvdla-doc", required=True, help="git directory of nvdla/doc")
    ap.add_argument("-o", "--output", type=Path, default=OUT)
    args = ap.parse_args()
    import yaml

    repo, nvdla = Repo(args.git_dir), Repo(args.nvdla_doc)
    points = mlperf_points(repo) + nvdla_points(nvdla)
    points.sort(key=lambda p: (p["chip"], p["model"], p["scenario"], p["system"]))
    head = HEADER.format(repo=REPO, commit=repo.commit, nvdla=NVDLA_REPO, nvdla_commit=nvdla.commit)
    body = yaml.safe_dump({"points": points}, sort_keys=False, width=120, allow_unicode=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(head + body)
    sys.stderr.write(f"{len(points)} points -> {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
