"""Matrix products: Gemm, MatMul (batched, broadcast, 1-D operands) and Einsum."""

from __future__ import annotations

import math

from .registry import CostContext, GemmShape, InvalidModel, OpCost, Uncostable, register


def matmul_macs(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, GemmShape]:
    """numpy.matmul semantics: 1-D operands are promoted, leading dims broadcast.

    MACs = prod(broadcast batch dims) x M x N x K. When B has no batch dims above 1 (a weight shared by
    every batch entry: a linear layer on ``[batch, tokens, K]``), the product is one GEMM of ``batch x M``
    rows: the GEMM shape is ``(1, batch x M, N, K)``, not ``batch`` GEMMs of M rows (which a GPU's tile model
    would count as ``batch`` M-row tiles: 1-row tiles in an LLM decode step at batch B).
    """
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    m, k = a2[-2], a2[-1]
    k2, n = b2[-2], b2[-1]
    if k != k2:
        raise InvalidModel(f"MatMul inner dims differ: {list(a)} @ {list(b)}")
    ba, bb = a2[:-2], b2[:-2]
    rank = max(len(ba), len(bb))
    ba = (1,) * (rank - len(ba)) + ba
    bb = (1,) * (rank - len(bb)) + bb
    batch = math.prod(max(x, y) for x, y in zip(ba, bb))
    if math.prod(bb) == 1:  # B shared across the batch: one GEMM of batch x M rows
        m, batch = batch * m, 1
    g = GemmShape(batch=batch, m=m, n=n, k=k)
    return g.macs, g


@register("MatMul")
def matmul(ctx: CostContext) -> OpCost:
    """MatMul(A, B): MACs = batch x M x N x K (broadcast batch)."""
    macs, g = matmul_macs(ctx.in_shape(0), ctx.in_shape(1))
    return OpCost(rule="matmul", macs=macs, gemms=(g,))


@register("Gemm")
def gemm(ctx: CostContext) -> OpCost:
    """Gemm(A, B, C) = alpha*A'B' + beta*C: MACs = M x N x K; other_ops = M x N when C is given."""
    a, b = ctx.in_shape(0), ctx.in_shape(1)
    m, k = (a[1], a[0]) if ctx.attr("transA", 0) else (a[0], a[1])
    n = b[0] if ctx.attr("transB", 0) else b[1]
    g = GemmShape(batch=1, m=m, n=n, k=k)
    other = m * n if ctx.has_input(2) else 0
    return OpCost(rule="gemm", macs=g.macs, other_ops=other, gemms=(g,))


_ELLIPSIS = "..."


def _expand_ellipsis(terms: list[str], rhs: str | None, shapes: list[tuple[int, ...]]) -> tuple[list[str], str | None]:
    """Replace ``...`` by private letters, right-aligned like numpy broadcasting."""
    ranks = [len(s) - (len(t) - len(_ELLIPSIS)) for t, s in zip(terms, shapes) if _ELLIPSIS in t]
    n_ell = max(ranks, default=0)
    if n_ell < 0:
        raise Uncostable("Einsum ellipsis covers a negative number of dims")
    pool = [chr(0x3B1 + i) for i in range(n_ell)]  # greek letters never appear in an ONNX equation
    out_terms = []
    for t, s in zip(terms, shapes):
        if _ELLIPSIS in t:
            k = len(s) - (len(t) - len(_ELLIPSIS))
            t = t.replace(_ELLIPSIS, "".join(pool[n_ell - k:]))
        out_terms.append(t)
    if rhs is not None:
        rhs = rhs.replace(_ELLIPSIS, "".join(pool))
    return out_terms, rhs


@register("Einsum")
def einsum(ctx: CostContext) -> OpCost:
    """Einsum, including ``...`` (numpy broadcasting of the leading dims).

    Two operands: MACs = product of the sizes of every distinct index (each combination is one
    multiply-accumulate). One operand (transpose, trace, sum): no MACs, other_ops = input elements.
    More operands: costed as a left-to-right chain of pairwise contractions.
    """
    eq = str(ctx.attr("equation", "")).replace(" ", "")
    lhs, arrow, rhs_text = eq.partition("->")
    terms = lhs.split(",")
    shapes = [ctx.in_shape(i) for i in range(len(terms))]
    terms, rhs = _expand_ellipsis(terms, rhs_text if arrow else None, shapes)
    if not all(c.isalpha() for t in terms for c in t):
        raise Uncostable(f"Einsum equation {eq!r} is malformed")
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        if len(term) != len(shape):
            raise InvalidModel(f"Einsum term {term!r} does not match shape {list(shape)}")
        for letter, d in zip(term, shape):
            sizes[letter] = max(sizes.get(letter, 1), d)
    if len(terms) == 1:
        return OpCost(rule="einsum", other_ops=math.prod(shapes[0]))
    if rhs is None:
        counts: dict[str, int] = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        ell = "".join(c for c in sizes if not c.isascii())
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c.isascii()))
    macs = 0
    gemms = []
    current = terms[0]
    for idx, term in enumerate(terms[1:], start=1):
        letters = set(current) | set(term)
        later = set(rhs).union(*[set(t) for t in terms[idx + 1:]])
        out = [c for c in letters if c in later]
        step = math.prod(sizes[c] for c in letters)
        macs += step
        contracted = math.prod(sizes[c] for c in letters if c not in later)
        shared_kept = math.prod(sizes[c] for c in out if c in current and c in term)
        m = math.prod(sizes[c] for c in out if c in current and c not in term)
        n = math.prod(sizes[c] for c in out if c in term and c not in current)
        gemms.append(GemmShape(batch=shared_kept, m=m, n=n, k=contracted))
        current = "".join(sorted(out))
    return OpCost(rule="einsum", macs=macs, gemms=tuple(gemms))
