"""Rankings and rank flips, each flip explained in one plain sentence from the bound breakdown.

Rank 1 is best. Throughput (inferences per second) is ranked higher-is-better; ties share a rank
("1, 2, 2, 4" competition ranking); offerings without a figure get no rank. The "TOPS tells you"
ranking orders offerings by their claimed peak TOPS alone, as a datasheet would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .. import format as fmt
from ..hardware.estimator.bounds import BOUND_WORDS
from ..store.record import SUPPLIER_VERIFIED
from .result import Figures, Flip, Offering, RankRow, Robustness
from .supplier import estimate_beside, supplier_sentence


def rank(values: Mapping[str, float | None], higher_is_better: bool = True) -> dict[str, int | None]:
    """Competition ranking of ``values`` (1 = best); ``None`` values get rank ``None``."""
    known = {k: v for k, v in values.items() if v is not None}
    out: dict[str, int | None] = {k: None for k in values}
    for k, v in known.items():
        better = sum(1 for w in known.values() if (w > v if higher_is_better else w < v))
        out[k] = better + 1
    return out


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# the one formatter module's functions, under the names the comparison has always used
fmt_bytes = fmt.traffic  # bytes moved (DRAM traffic): decimal
fmt_mem = fmt.mem  # memory sizes (SRAM): binary
fmt_rate = fmt.rate
fmt_time = fmt.short_duration
fmt_pct = fmt.percent


def build_rows(offerings: list[Offering], rank_batch: int, baseline_batch: int) -> list[RankRow]:
    """One row per offering with the three ranks; sorted by the workload rank."""
    work = {o.name: o.ranked_at(rank_batch) for o in offerings}
    base = {o.name: o.at("baseline", baseline_batch) for o in offerings}
    r_work = rank({k: f.throughput_ips if f else None for k, f in work.items()})
    r_base = rank({k: f.throughput_ips if f else None for k, f in base.items()})
    r_tops = rank({o.name: o.peak_tops for o in offerings})
    rows = []
    for o in offerings:
        w, b = work[o.name], base[o.name]
        rows.append(RankRow(
            offering=o.name, kind=o.kind,
            workload_rank=r_work[o.name], workload_throughput_ips=w.throughput_ips if w else None,
            workload_latency_s=w.latency_s if w else None,
            baseline_rank=r_base[o.name], baseline_throughput_ips=b.throughput_ips if b else None,
            tops_rank=r_tops[o.name], peak_tops=o.peak_tops,
            workload_effective_tops=w.effective_tops if w else None,
            workload_utilization=w.mac_utilization if w else None,
            workload_bound=w.dominant_bound if w else None,
            figure=w.method if w else None, **estimate_beside(o, w, rank_batch),
            figure_validity=w.validity if w else None,
        ))
    big = 10**9
    rows.sort(key=lambda r: (r.workload_rank or big, r.baseline_rank or big, r.offering))
    return rows


def invalid_warnings(offerings: list[Offering], rows: list[RankRow], rank_batch: int) -> list[str]:
    """One warning per offering ranked on an INVALID measurement: it keeps its rank, marked, never silently."""
    out = []
    for r in rows:
        if r.figure_validity != "INVALID":
            continue
        f = next(o for o in offerings if o.name == r.offering).ranked_at(rank_batch)
        why = "; ".join(f.validity_reasons) if f and f.validity_reasons else "see its conditions"
        place = f"ranked {ordinal(r.workload_rank)}" if r.workload_rank else "listed"
        out.append(f"warning: {r.offering} is {place} on an INVALID measurement at batch {rank_batch} ({why}): its "
                   f"figures are not a valid result; measure again with a longer run (compare --full)")
    return out


def find_flips(offerings: list[Offering], rows: list[RankRow], rank_batch: int, baseline_batch: int,
               workload_label: str, baseline_label: str, unit: str = "inference") -> list[Flip]:
    """Every offering ranked in both rankings whose rank differs, with its explanation."""
    by_name = {o.name: o for o in offerings}
    ranked = [r for r in rows if r.workload_rank is not None and r.baseline_rank is not None]
    # a flip is a change of order among the offerings ranked on both workloads: a measured runtime (no
    # baseline figure) that slots in between shifts every rank below it by one, and that is no flip
    among = {r.offering: r for r in ranked}
    w_among = rank({n: r.workload_throughput_ips for n, r in among.items()})
    b_among = rank({n: r.baseline_throughput_ips for n, r in among.items()})
    flips = []
    for r in ranked:
        if w_among[r.offering] == b_among[r.offering]:
            continue
        off = by_name[r.offering]
        overtaken = [x.offering for x in ranked if x.offering != r.offering
                     and _crossed(r, x)]
        # the sentence speaks of the ranks it compares (the table's own rank can be one lower per measured
        # runtime above it)
        among_row = dataclasses.replace(r, workload_rank=w_among[r.offering], baseline_rank=b_among[r.offering])
        cause, sentence = explain(off, among_row, [by_name[n] for n in overtaken], rank_batch, baseline_batch,
                                  workload_label, baseline_label, unit)
        if among_row.workload_rank != r.workload_rank:
            sentence = sentence.replace(f" to {ordinal(among_row.workload_rank)}",
                                        f" to {ordinal(among_row.workload_rank)} of the estimated offerings", 1)
        flips.append(Flip(offering=r.offering, baseline_rank=r.baseline_rank, workload_rank=r.workload_rank,
                          tops_rank=r.tops_rank, cause=cause, sentence=sentence))
    # an offering that can run one workload but not the other is the sharpest flip of all
    for r in rows:
        if (r.workload_rank is None) == (r.baseline_rank is None):
            continue
        off = by_name[r.offering]
        missing, batch, label = (("workload", rank_batch, workload_label) if r.workload_rank is None
                                 else ("baseline", baseline_batch, baseline_label))
        fig = off.at(missing, batch)
        if fig is None or fig.feasible:
            continue  # not estimated (e.g. a runtime without a baseline measurement): no claim either way
        have = r.baseline_rank if missing == "workload" else r.workload_rank
        where = baseline_label if missing == "workload" else workload_label
        flips.append(Flip(offering=r.offering, baseline_rank=r.baseline_rank, workload_rank=r.workload_rank,
                          tops_rank=r.tops_rank, cause="infeasible",
                          sentence=f"{r.offering} ranks {ordinal(have)} on {where} but cannot run {label} at batch "
                                   f"{batch}: {fig.infeasible_reason or 'the estimator found no feasible plan'}."))
    big = 10**9
    flips.sort(key=lambda f: (f.workload_rank or big, f.offering))
    return flips


def _margin(ratio: float) -> str:
    return f"{100 * (ratio - 1):.0f} %" if ratio < 2 else f"x{ratio:.2g}"


def order_robustness(fast: str, slow: str, rows: list[RankRow], offerings: list[Offering]) -> Robustness | None:
    """Does the workload order of ``fast`` and ``slow`` survive their error bands? ``ratio`` = their
    throughputs' ratio (>= 1), ``band`` = the product of their bands; None when a throughput or a band is
    unknown."""
    by_row = {r.offering: r for r in rows}
    by_off = {o.name: o for o in offerings}
    ta, tb = by_row[fast].workload_throughput_ips, by_row[slow].workload_throughput_ips
    ba, bb = by_off[fast].error_band, by_off[slow].error_band
    if not ta or not tb or ba is None or bb is None:
        return None
    hi, lo = (fast, slow) if ta >= tb else (slow, fast)
    ratio = max(ta, tb) / min(ta, tb)
    band = ba * bb
    bands = f"x{by_off[hi].error_band:.2g} for {hi}, x{by_off[lo].error_band:.2g} for {lo}"
    if ratio > band:
        sentence = (f"holds unless the estimates are off by more than {_margin(ratio)}: {hi} is x{ratio:.2f} "
                    f"faster than {lo}, beyond their stated errors together (x{band:.2g}: {bands})")
    else:
        sentence = (f"does not survive the stated error of x{band:.2g} ({bands}): {hi} is only x{ratio:.2f} "
                    f"faster than {lo}")
    return Robustness(offering=fast, other=slow, ratio=ratio, band=band, survives=ratio > band, sentence=sentence)


def winner_robustness(rows: list[RankRow], offerings: list[Offering]) -> Robustness | None:
    """The workload's 1st place against the best of the rest (None: fewer than two ranked, or a band unknown)."""
    ranked = sorted((r for r in rows if r.workload_rank is not None), key=lambda r: r.workload_rank)
    if len(ranked) < 2:
        return None
    rob = order_robustness(ranked[0].offering, ranked[1].offering, rows, offerings)
    if rob is not None:
        rob.sentence = f"{ranked[0].offering} ranks 1st on the workload: {rob.sentence}."
    return rob


def flip_robustness(flip: Flip, rows: list[RankRow], offerings: list[Offering]) -> Robustness | None:
    """A flip survives when every new order it makes (with each offering it crossed) survives the bands; the
    closest such pair (the smallest ratio over band) is the one stated. None for infeasibility flips and when a
    band is unknown."""
    if flip.cause == "infeasible":
        return None
    by_row = {r.offering: r for r in rows}
    me = by_row[flip.offering]
    ranked = [r for r in rows if r.workload_rank is not None and r.baseline_rank is not None]
    crossed = [x.offering for x in ranked if x.offering != me.offering and _crossed(me, x)]
    found = [rb for rb in (order_robustness(flip.offering, o, rows, offerings) for o in crossed) if rb is not None]
    if not found or len(found) < len(crossed):
        return None
    weakest = min(found, key=lambda rb: rb.ratio / rb.band)
    weakest.sentence = f"The flip of {flip.offering} {weakest.sentence}."
    return weakest


def _crossed(a: RankRow, b: RankRow) -> bool:
    """True when ``a`` and ``b`` swapped order between the two rankings."""
    before = a.baseline_rank - b.baseline_rank
    after = a.workload_rank - b.workload_rank
    return before * after < 0 or (before == 0) != (after == 0)


def _names(offerings: list[Offering]) -> str:
    names = [o.name for o in offerings]
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def explain(off: Offering, row: RankRow, crossed: list[Offering], rank_batch: int, baseline_batch: int,
            workload_label: str, baseline_label: str, unit: str = "inference") -> tuple[str, str]:
    """``(cause, sentence)`` for one flip, from the offering's bound breakdown on each workload."""
    w = off.ranked_at(rank_batch)
    b = off.at("baseline", baseline_batch)
    moved = "drops" if row.workload_rank > row.baseline_rank else "rises"
    head = f"{off.name} {moved} from {ordinal(row.baseline_rank)} to {ordinal(row.workload_rank)}"
    tops = "" if row.tops_rank is None else f" (TOPS alone ranks it {ordinal(row.tops_rank)})"
    if w is not None and w.method == SUPPLIER_VERIFIED:
        return "supplier-measured", f"{head}{tops}: {supplier_sentence(off, w, workload_label, rank_batch)}."
    if w is not None and w.method == "measured":
        return "measured", (f"{head}{tops}: measured on this machine, it takes {fmt_time(w.latency_s)} per batch of "
                            f"{rank_batch} on {workload_label} against {fmt_time(b.latency_s if b else None)} per "
                            f"batch of {baseline_batch} on {baseline_label}.")
    if w is None or not w.bound_share:
        thr_w = w.throughput_ips if w else None
        thr_b = b.throughput_ips if b else None
        return "unknown", (f"{head}{tops}: {_num(thr_w)} inferences/s on {workload_label} at batch {rank_batch} "
                           f"against {_num(thr_b)}/s on {baseline_label} at batch {baseline_batch} (no bound "
                           "breakdown available).")
    cause = w.dominant_bound or "compute"
    share = w.bound_share.get(cause, 0.0)
    if moved == "drops":
        if cause == "weights":
            body = (f"at batch {rank_batch} it streams {fmt_bytes(w.dram_weight_bytes_per_inference)} of weights "
                    f"per {unit} over {fmt_rate(off.dram_bandwidth)}, and waiting on weights is {fmt_pct(share)} of "
                    f"its time on {workload_label}")
        elif cause == "activations":
            body = (f"its {fmt_mem(off.sram_bytes)} of SRAM cannot hold {workload_label}'s activations, so it moves "
                    f"{fmt_bytes(w.dram_activation_bytes_per_inference)} of activations per {unit} over "
                    f"{fmt_rate(off.dram_bandwidth)} ({fmt_pct(share)} of its time)")
        elif cause == "overhead":
            body = (f"on {workload_label} at batch {rank_batch} its per-layer (launch/dispatch) overhead is "
                    f"{fmt_pct(share)} of its time, so its {_tops(off.peak_tops)} TOPS stay mostly idle")
        elif cause in ("call", "link"):
            per_call = (w.latency_s or 0.0) * share
            what = "per call (runtime and driver)" if cause == "call" else "per call over its host link"
            body = (f"at batch {rank_batch} it pays {fmt_time(per_call)} {what} on {workload_label}, "
                    f"{fmt_pct(share)} of its time")
        elif cause == "fallback":
            body = (f"layers of {workload_label} that none of its engines runs go to the host fallback, their "
                    f"tensors crossing the host link both ways ({fmt_pct(share)} of its time)")
        elif cause == "state":
            body = (f"its SRAM cannot hold {workload_label}'s persistent state (KV cache), so reading it from DRAM "
                    f"over {fmt_rate(off.dram_bandwidth)} is {fmt_pct(share)} of its time")
        else:
            ub = b.mac_utilization if b else None
            body = (f"its MAC array is only {fmt_pct(w.mac_utilization)} busy on {workload_label} (vs "
                    f"{fmt_pct(ub)} on {baseline_label}), so it delivers {_tops(w.effective_tops)} of its claimed "
                    f"{_tops(off.peak_tops)} TOPS")
    else:
        # an offering it now ties with is not "held back": it is level
        level = [o for o in crossed if o.ranked_at(rank_batch) is not None
                 and o.ranked_at(rank_batch).throughput_ips == w.throughput_ips]
        crossed = [o for o in crossed if o not in level]
        others = _names(crossed) if crossed else "the offerings it passes"
        # the bounds of the offerings it passes, where known (a measured runtime or a verified supplier figure
        # has no bound breakdown: it is named, never given a made-up bound)
        bounds = [o.ranked_at(rank_batch).dominant_bound if o.ranked_at(rank_batch) else None
                  for o in crossed]
        other_bounds = sorted({BOUND_WORDS.get(x, x) for x in bounds if x})
        if crossed and other_bounds:
            why_others = f", while {others} {'is' if len(crossed) == 1 else 'are'} held back by " + " and ".join(
                other_bounds)
        else:
            why_others = f", passing {others}" if crossed else ""
        if level:
            why_others += f", level with {_names(level)}"
        if cause == "compute":
            body = (f"it stays compute-bound on {workload_label} at {fmt_pct(w.mac_utilization)} MAC utilisation "
                    f"({_tops(w.effective_tops)} of {_tops(off.peak_tops)} TOPS){why_others}")
        elif cause == "weights":
            body = (f"its {fmt_rate(off.dram_bandwidth)} DRAM streams the "
                    f"{fmt_bytes(w.dram_weight_bytes_per_inference)} of weights per {unit} in "
                    f"{fmt_time(_dram_time(w.dram_weight_bytes_per_inference, off))}{why_others}")
        elif cause in ("overhead", "call", "link", "fallback", "state"):
            body = (f"even with {BOUND_WORDS[cause]} at {fmt_pct(share)} of its time on {workload_label} it is "
                    f"faster{why_others}")
        else:
            body = (f"its {fmt_rate(off.dram_bandwidth)} DRAM moves the "
                    f"{fmt_bytes(w.dram_activation_bytes_per_inference)} of spilled activations per {unit} in "
                    f"{fmt_time(_dram_time(w.dram_activation_bytes_per_inference, off))}{why_others}")
    return cause, f"{head}{tops}: {body}."


def _dram_time(nbytes: float | None, off: Offering) -> float | None:
    if nbytes is None or not off.dram_bandwidth:
        return None
    return nbytes / off.dram_bandwidth


def _num(x: float | None) -> str:
    return fmt.number(x)


def _tops(x: float | None) -> str:
    return fmt.UNKNOWN if x is None else f"{x:.3g}"


def figures_line(f: Figures | None) -> str:
    """A short human summary of one figure set (for tables)."""
    if f is None:
        return "—"
    return f"{f.throughput_ips:.4g} inf/s, {fmt_time(f.latency_s)}" if f.throughput_ips else fmt_time(f.latency_s)
