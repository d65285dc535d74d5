"""Tests of qwemlib.experiments._register: criteria, judging and the verdict table."""

import math

import pytest

from qwemlib.experiments import (
    REGISTER,
    VERDICTS,
    Claim,
    Criterion,
    collect_claims,
    judge,
    verdict_table,
)


def _claim(op, threshold=1.0, key="k"):
    return Claim(key=key, statement="a statement", where="Figure 0", paper_value="",
                 criterion=Criterion("x", op, threshold), chapter="book/00.md")


@pytest.mark.parametrize("op, below, at, above", [
    (">=", "fails", "holds", "holds"),
    (">", "fails", "fails", "holds"),
    ("<=", "holds", "holds", "fails"),
    ("<", "holds", "fails", "fails"),
])
def test_judge_each_op(op, below, at, above):
    c = _claim(op)
    assert [judge(c, m).verdict for m in (0.5, 1.0, 1.5)] == [below, at, above]


def test_not_testable():
    c = _claim(">=")
    assert judge(c, math.nan).verdict == "not testable"
    assert judge(c, 2.0, testable=False).verdict == "not testable"
    assert not judge(c, math.nan).holds
    assert all(judge(c, m).verdict in VERDICTS for m in (0.0, 2.0, math.nan))
    assert VERDICTS == ("holds", "fails", "not testable")


@pytest.mark.parametrize("op", ["==", "=>", "gt", ""])
def test_unknown_op_is_a_clear_error(op):
    with pytest.raises(ValueError, match="not a comparison"):
        Criterion("x", op, 1.0)


def test_nan_threshold_and_non_number():
    with pytest.raises(ValueError, match="NaN"):
        Criterion("x", ">=", math.nan)
    with pytest.raises(ValueError, match="not a number"):
        judge(_claim(">="), "high")


def test_verdict_table():
    c = _claim(">", 0.1)
    df = verdict_table([judge(c, 0.3, detail="d"), judge(c, 0.0), judge(c, math.nan)])
    assert list(df.columns) == ["claim", "where", "paper", "criterion", "measured", "verdict"]
    assert list(df["verdict"]) == ["holds", "fails", "not testable"]
    assert df["criterion"][0] == "x > 0.1"
    assert verdict_table([]).empty


def test_collect_claims_and_register():
    a, b = _claim(">=", key="a"), _claim(">=", key="b")
    assert list(collect_claims((a,), (b,))) == ["a", "b"]
    with pytest.raises(ValueError, match="declared twice"):
        collect_claims((a,), (a,))
    assert all(k == c.key and isinstance(c, Claim) for k, c in REGISTER.items())
