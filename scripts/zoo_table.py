"""Generate the figures table of docs/zoo.md from the zoo itself.

    PYTHONPATH=src python scripts/zoo_table.py            # rewrite the table in docs/zoo.md
    PYTHONPATH=src python scripts/zoo_table.py --check    # exit 1 if docs/zoo.md is stale
    PYTHONPATH=src python scripts/zoo_table.py --print    # print the table only

Figures at batch 1: MACs (one multiply-accumulate each), trainable parameters (PyTorch's count),
largest single activation tensor in bytes at INT8 (1 byte per element), and the Winograd F(2x2,3x3)
speed-up if every 3x3 stride-1 conv ran it. They come from ``fitbench.profile.profile``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "zoo.md"
BEGIN, END = "<!-- zoo-table:begin -->", "<!-- zoo-table:end -->"
CAMERA = (1080, 1920)


def _figures(proto) -> tuple[int, int, str, float]:
    """(macs, largest activation elements, its tensor name, winograd F2 speed-up)."""
    from fitbench.profile import profile

    p = profile(proto, precision="int8")
    t = p.totals
    return t.macs, t.largest_activation_bytes, t.largest_activation_tensor.name, t.winograd_speedup_f2


def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f} MB"


def table() -> str:
    from fitbench import zoo

    rows = [
        "| model | default input | GMAC | params | largest activation (INT8) | Winograd F2 | "
        "GMAC at 1920x1080 | largest activation at 1920x1080 (INT8) |",
        "|---|---|---:|---:|---|---:|---:|---|",
    ]
    for e in zoo.list_models():
        m = zoo.build(e.name)
        macs, big, big_name, wino = _figures(m.proto)
        if "resolution" in e.defaults:
            mc = zoo.build(e.name, resolution=CAMERA)
            cmacs, cbig, cname, _ = _figures(mc.proto)
            h, w = mc.params["input_resolution"] if "input_resolution" in mc.params else CAMERA
            pad = f" (as {w}x{h})" if (h, w) != CAMERA else ""
            camera = (f"{cmacs / 1e9:,.2f}{pad}", f"{_mb(cbig)} `{cname}`")
        else:
            camera = ("n/a (no image input)", "n/a")
        rows.append(f"| `{e.name}` | {e.default_input} | {macs / 1e9:,.3f} | {m.parameters:,} | "
                    f"{_mb(big)} `{big_name}` | {wino:.2f}x | {camera[0]} | {camera[1]} |")
    return "\n".join(rows) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/zoo.md's table is out of date")
    ap.add_argument("--print", action="store_true", help="print the table instead of writing docs/zoo.md")
    args = ap.parse_args()
    text = table()
    if args.print:
        sys.stdout.write(text)
        return 0
    doc = DOC.read_text()
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{text}{END}{tail}"
    if args.check:
        if new != doc:
            sys.stderr.write("docs/zoo.md is stale: run PYTHONPATH=src python scripts/zoo_table.py\n")
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
