"""qwemlib._validate: the symmetric-matrix check names the input and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib._validate import validate_symmetric


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
