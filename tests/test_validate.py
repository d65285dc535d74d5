"""qwemlib._validate: every input check names the input and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib._validate import (
    validate_counts,
    validate_embeddings,
    validate_factor_shapes,
    validate_int,
    validate_matrix,
    validate_pair_distribution,
    validate_positive,
    validate_probabilities,
    validate_symmetric,
)


def test_accepts_symmetric_and_casts_integers():
    out = validate_symmetric(np.array([[1, 2], [2, 1]]))
    assert out.dtype == np.float64


@pytest.mark.parametrize("M, match", [
    (np.zeros(3), "2-D square"),
    (np.zeros((2, 3)), "must be square"),
    (np.zeros((0, 0)), "is empty"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "non-finite"),
    (np.array([[1.0, 2.0], [0.0, 1.0]]), r"not symmetric.*\(M \+ M.T\) / 2"),
    (np.eye(2) * 1j, "must be real"),
])
def test_rejects_bad_input_with_a_clear_message(M, match):
    with pytest.raises(ValueError, match=match):
        validate_symmetric(M)


# --------------------------------------------------------------------------- the other helpers


def test_symmetric_check_names_the_worst_entry_across_row_blocks(monkeypatch):
    """The blocked scan (small blocks forced) finds the same worst entry as a dense one."""
    import qwemlib._validate as v

    monkeypatch.setattr(v, "_BLOCK", 7)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((9, 9))
    M = A + A.T
    M[6, 2] += 1e-3
    M[7, 1] += 5e-3
    with pytest.raises(ValueError, match=r"\|M\[1,7\] - M\[7,1\]\| = 0\.005"):
        validate_symmetric(M)
    C = rng.integers(0, 9, (9, 9))
    C = C + C.T
    validate_counts(C, C.sum(1))
    C[8, 0] += 1
    with pytest.raises(ValueError, match=r"counts\[0,8\] = \d+ but counts\[8,0\]"):
        validate_counts(C, C.sum(1))


def test_symmetric_check_tiles_find_entries_in_either_triangle(monkeypatch):
    """The tiled scan reports a NaN where it is (lower triangle too) and the worst asymmetry as
    (i, j) with i <= j, for tile sides that do and do not divide V."""
    import qwemlib._validate as v

    rng = np.random.default_rng(1)
    A = rng.standard_normal((11, 11))
    for block in (7, 64, 2_000_000):
        monkeypatch.setattr(v, "_BLOCK", block)
        M = A + A.T
        M[9, 3] += 2e-3
        with pytest.raises(ValueError, match=r"\|M\[3,9\] - M\[9,3\]\| = 0\.002"):
            validate_symmetric(M)
        M = A + A.T
        M[8, 2] = np.nan
        with pytest.raises(ValueError, match=r"non-finite entries \(first at \[8, 2\]"):
            validate_symmetric(M)
        validate_symmetric(A + A.T)


def test_counts_full_false_skips_the_matrix_scan():
    C = np.array([[0, 1], [2, 0]])  # asymmetric, but only the unigram is checked
    validate_counts(C, np.array([1, 2]), full=False)
    with pytest.raises(ValueError, match="unigram counts have negative"):
        validate_counts(C, np.array([1, -2]), full=False)


@pytest.mark.parametrize("call, match", [
    (lambda: validate_probabilities(np.array([0.5, 0.0])), "1 non-positive"),
    (lambda: validate_probabilities(np.ones(3), V=4), r"\(V,\) = \(4,\)"),
    (lambda: validate_pair_distribution(np.full((2, 2), np.inf), np.array([0.5, 0.5])), "non-finite"),
    (lambda: validate_matrix(np.ones((3, 2)), "W", rows=4, what="(V, d)"), r"W .*\(V, d\) with 4 rows"),
    (lambda: validate_matrix(np.array([[1.0, np.nan]]), "W"), r"W has non-finite entries \(first at \[0, 1"),
    (lambda: validate_int(True, "d"), "d must be an integer; got True"),
    (lambda: validate_int(3, "k", low=0, high=3), r"k must be in 0\.\.2; got k = 3"),
    (lambda: validate_positive("x", "sigma"), "sigma must be a number"),
    (lambda: validate_positive(0.0, "sigma"), r"sigma must be finite and > 0"),
    (lambda: validate_factor_shapes(np.ones((3, 2)), np.ones((3, 4))), r"W \(3, 2\) and M \(3, 4\)"),
])
def test_helpers_reject_with_a_clear_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_helpers_accept_valid_input():
    assert validate_int(np.int64(3), "d") == 3 and validate_positive(0, "s", allow_zero=True) == 0.0
    assert validate_factor_shapes(np.ones((3, 2)), np.eye(3)) == (3, 2)
    P = np.full((2, 2), 0.25)
    assert validate_pair_distribution(P, P.sum(1))[0] is P


def test_factor_shapes_work_on_traced_jax_arrays():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    f = jax.jit(lambda W, M: validate_factor_shapes(W, M)[1] * jnp.sum(W))
    assert float(f(jnp.ones((3, 2)), jnp.eye(3))) == 12.0


def test_embeddings_check_duck_types():
    class E:
        words = ("a",)
        vectors = np.ones((1, 2))

    validate_embeddings(E())
    with pytest.raises(TypeError, match="got dict"):
        validate_embeddings({"a": 1})
