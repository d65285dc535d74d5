"""Input checks shared by the numerical layers (private; the bottom layer).

Bad input raises :class:`ValueError` (or :class:`TypeError` for the wrong kind of
object) whose message names the input and says what to do (docs/CONVENTIONS.md).
Every check is cheap next to the function that calls it: reductions and row blocks,
no ``V x V`` temporary.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "validate_symmetric",
    "validate_counts",
    "validate_probabilities",
    "validate_pair_distribution",
    "validate_matrix",
    "validate_same_shape",
    "validate_factor_shapes",
    "validate_int",
    "validate_positive",
    "validate_embeddings",
]

_BLOCK = 2_000_000  # entries per row block


def _blocks(V: int):
    step = max(1, min(V, _BLOCK // max(V, 1)))
    for i0 in range(0, V, step):
        yield i0, min(V, i0 + step)


def _check_square(M, name: str) -> np.ndarray:
    M = np.asarray(M)
    if M.ndim != 2:
        raise ValueError(f"{name} must be a 2-D square matrix; got shape {M.shape}")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be square; got shape {M.shape}")
    if M.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if np.iscomplexobj(M):
        raise ValueError(f"{name} must be real; got dtype {M.dtype}")
    return M


def _check_finite_block(blk: np.ndarray, i0: int, name: str, fix: str, col0: int = 0) -> None:
    if not np.isfinite(blk).all():
        bad = np.argwhere(~np.isfinite(blk))[0]
        idx = ", ".join(str(int(b) + (i0 if k == 0 else col0 if k == 1 else 0)) for k, b in enumerate(bad))
        raise ValueError(
            f"{name} has non-finite entries (first at [{idx}] = {blk[tuple(bad)]}); {fix}"
        )


def _tiles(V: int):
    """Square tiles ``(a, b, c, e)`` with ``a <= c`` covering the upper triangle: a tile and its
    mirror are both small enough to stay in cache while they are compared."""
    side = max(1, min(V, int(np.sqrt(_BLOCK)) // 4))
    for a in range(0, V, side):
        for c in range(a, V, side):
            yield a, min(V, a + side), c, min(V, c + side)


def _asymmetry(M: np.ndarray, name: str, fix: str) -> tuple[float, tuple[int, int], float]:
    """``(max |M - M^T|, where, max |M|)`` over tile pairs; floats checked finite.

    Each tile ``M[a:b, c:e]`` of the upper triangle is compared with its mirror
    ``M[c:e, a:b]`` while both are in cache (row blocks against column blocks read the
    matrix column-wise: about 3x slower at V = 10,000 here); the reported entry
    ``(i, j)`` has ``i <= j``.
    """
    V = M.shape[0]
    floating = np.issubdtype(M.dtype, np.floating)
    scale, worst, where = 0.0, 0.0, (0, 0)
    for a, b, c, e in _tiles(V):
        up = M[a:b, c:e].astype(np.float64, copy=False)
        lo = M[c:e, a:b].astype(np.float64, copy=False)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: reported just below
            diff = np.abs(up - lo.T)
        if floating and not np.isfinite(diff).all():
            _check_finite_block(up, a, name, fix, col0=c)
            _check_finite_block(lo, c, name, fix, col0=a)
        scale = max(scale, float(np.abs(up).max()), float(np.abs(lo).max()))
        k = int(np.argmax(diff))
        if diff.flat[k] > worst:
            worst = float(diff.flat[k])
            where = (a + k // diff.shape[1], c + k % diff.shape[1])
    return worst, where, scale


def validate_symmetric(M, name: str = "M", *, rtol: float = 1e-8) -> np.ndarray:
    """Check that ``M`` is a finite, real, square, symmetric 2-D array and return it.

    The check runs in row blocks so that it needs no ``V x V`` temporary.

    Args:
        M: the matrix.
        name: what to call it in error messages.
        rtol: allowed ``max |M - M^T|`` relative to ``max |M|``.

    Returns:
        ``M`` as a floating-point ndarray (not copied when it already is one).

    Raises:
        ValueError: not 2-D, not square, empty, non-finite, or not symmetric; the
            message names the worst asymmetric entry.
    """
    M = _check_square(M, name)
    if not np.issubdtype(M.dtype, np.floating):
        M = M.astype(np.float64)
    worst, (i, j), scale = _asymmetry(M, name, "remove NaN/inf before solving")
    if worst > rtol * max(scale, np.finfo(float).tiny):
        raise ValueError(
            f"{name} is not symmetric: |{name}[{i},{j}] - {name}[{j},{i}]| = {worst:.3g} "
            f"({name}[{i},{j}] = {M[i, j]:.6g}, {name}[{j},{i}] = {M[j, i]:.6g}); "
            f"symmetrize it, e.g. ({name} + {name}.T) / 2"
        )
    return M


def validate_counts(counts, unigram, name: str = "counts", *, full: bool = True) -> None:
    """Check co-occurrence counts: ``(V, V)`` symmetric, non-negative, finite; ``unigram`` ``(V,)``.

    Args:
        full: also scan ``counts`` (two reductions and a blocked symmetry test,
            about 1 s at V = 10,000); ``False`` checks the shapes and ``unigram`` only.

    Raises:
        ValueError: naming the first bad entry; counts come from
            :func:`qwemlib.stats.count_cooccurrences`, so the fix is to recount.
    """
    fix = "recount the corpus with qwemlib.stats.count_cooccurrences"
    counts = _check_square(counts, name)
    unigram = np.asarray(unigram)
    if unigram.shape != (counts.shape[0],):
        raise ValueError(
            f"the unigram counts have shape {unigram.shape} but {name} is {counts.shape}: "
            f"V must agree; {fix}"
        )
    for arr, what in [(unigram, "unigram counts")] + ([(counts, name)] if full else []):
        lo, hi = arr.min(), arr.max()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{what} have non-finite entries; {fix}")
        if lo < 0:
            where = np.unravel_index(int(np.argmin(arr)), arr.shape)
            raise ValueError(f"{what} have negative entries (e.g. {list(map(int, where))} = {lo}); {fix}")
    if not full:
        return
    for i0, i1 in _blocks(counts.shape[0]):
        neq = counts[i0:i1] != counts[:, i0:i1].T
        if neq.any():
            i, j = np.argwhere(neq)[0]
            i += i0
            raise ValueError(
                f"{name} are not symmetric: {name}[{i},{j}] = {counts[i, j]} but {name}[{j},{i}] = "
                f"{counts[j, i]}; positive pairs are counted both ways: {fix}"
            )


def validate_probabilities(p, name: str = "P_i", *, V: int | None = None) -> np.ndarray:
    """Check a 1-D array of finite, strictly positive probabilities (e.g. ``P_i``) and return it.

    Raises:
        ValueError: wrong shape, non-finite or non-positive entries.
    """
    p = np.asarray(p)
    if p.ndim != 1 or p.size == 0 or (V is not None and p.shape[0] != V):
        want = "(V,)" if V is None else f"(V,) = ({V},)"
        raise ValueError(f"{name} must be a non-empty 1-D array of shape {want}; got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError(
            f"{name} has non-finite entries; compute it from the counts (stats.unigram_distribution)"
        )
    if np.any(p <= 0):
        raise ValueError(
            f"{name} has {int(np.sum(p <= 0))} non-positive entries; every vocabulary word must "
            f"occur in the counted corpus (choose a smaller V)"
        )
    return p


def validate_pair_distribution(P_ij, P_i) -> tuple[np.ndarray, np.ndarray]:
    """Check ``P_i`` (positive, ``(V,)``) and ``P_ij`` (``(V, V)``, finite, non-negative).

    Symmetry of ``P_ij`` is left to the solvers (:func:`validate_symmetric` on ``M*``).
    """
    P_i = validate_probabilities(P_i, "P_i")
    P_ij = np.asarray(P_ij)
    V = P_i.shape[0]
    if P_ij.shape != (V, V):
        raise ValueError(f"P_ij must have shape (V, V) = ({V}, {V}) to match P_i; got {P_ij.shape}")
    lo, hi = P_ij.min(), P_ij.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("P_ij has non-finite entries; compute it with stats.skipgram_distribution")
    if lo < 0:
        raise ValueError(f"P_ij has negative entries (min {lo:.3g}); a probability is >= 0: recompute it")
    return P_ij, P_i


def validate_matrix(A, name: str, *, rows: int | None = None, cols: int | None = None,
                    finite: bool = True, what: str = "") -> np.ndarray:
    """Check a 2-D array (e.g. ``W`` of shape ``(V, d)``) and return it.

    Args:
        rows, cols: required sizes (``None``: any).
        finite: also reject NaN/inf.
        what: what the shape means, for the message (e.g. ``"(V, d)"``).
    """
    A = np.asarray(A)
    want = what or f"({'rows' if rows is None else rows}, {'cols' if cols is None else cols})"
    if A.ndim != 2 or (rows is not None and A.shape[0] != rows) or (cols is not None and A.shape[1] != cols):
        raise ValueError(
            f"{name} must be a 2-D array of shape {want}"
            f"{'' if rows is None else f' with {rows} rows'}"
            f"{'' if cols is None else f' and {cols} columns'}; got shape {A.shape}"
        )
    if finite and not np.isfinite(A).all():
        bad = np.argwhere(~np.isfinite(A))[0]
        raise ValueError(
            f"{name} has non-finite entries (first at [{bad[0]}, {bad[1]}]); "
            "a NaN/inf usually means a diverged run: rerun with a smaller step"
        )
    return A


def validate_same_shape(A, B, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Check that two arrays have the same shape and return them as arrays."""
    A, B = np.asarray(A), np.asarray(B)
    if A.shape != B.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape; got {A.shape} and {B.shape}")
    return A, B


def validate_factor_shapes(W, M, *, names: tuple[str, str] = ("W", "M")) -> tuple[int, int]:
    """Check that ``W`` is ``(V, d)`` and ``M`` is ``(V, V)``; return ``(V, d)``.

    Reads only ``.shape``, so it also works on JAX arrays inside ``jit``.
    """
    w, m = tuple(np.shape(W)), tuple(np.shape(M))
    if len(w) != 2 or m != (w[0], w[0]):
        raise ValueError(
            f"{names[0]} must be (V, d) and {names[1]} (V, V) with the same V; got {names[0]} {w} "
            f"and {names[1]} {m}: pass one embedding row per word of {names[1]}"
        )
    return w[0], w[1]


def validate_int(value, name: str, *, low: int = 1, high: int | None = None) -> int:
    """Check an integer ``low <= value (< high)`` and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if value < low or (high is not None and value >= high):
        rng = f">= {low}" if high is None else f"in {low}..{high - 1}"
        raise ValueError(f"{name} must be {rng}; got {name} = {value}")
    return value


def validate_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Check a finite real scalar ``> 0`` (or ``>= 0``) and return it as ``float``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not np.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}; got {value!r}")
    return x


def validate_embeddings(emb, name: str = "emb") -> None:
    """Check a :class:`qwemlib.embeddings.Embeddings`-like object: words, a ``(V, d)`` array.

    Raises:
        TypeError: not an embeddings object (e.g. a path or a bare array).
        ValueError: no words or no dimensions.
    """
    if not (hasattr(emb, "vectors") and hasattr(emb, "words")):
        raise TypeError(
            f"{name} must be a qwemlib Embeddings object; got {type(emb).__name__}: wrap a (V, d) "
            "array with Embeddings(words, W) or read a file with Embeddings.load"
        )
    V, d = np.shape(emb.vectors)
    if V == 0 or d == 0:
        raise ValueError(
            f"{name} has no {'words' if V == 0 else 'dimensions'} (shape ({V}, {d})); "
            "pass embeddings with at least one word and d >= 1"
        )
