"""The claims register: each claim of the paper the book tests, with its criterion fixed in code.

A :class:`Claim` pairs our words for one of the paper's statements (and where it is,
and the paper's number when it quotes one) with a :class:`Criterion` written before
any result is looked at: what is measured, a comparison and a threshold. :func:`judge`
applies the criterion to a measured value and returns a :class:`Verdict` whose
``verdict`` ("holds", "fails" or "not testable") is computed, never chosen. Chapters
show :func:`verdict_table` and word their prose from the computed verdicts; a check
cell asserts that each criterion was evaluated (``v.verdict in VERDICTS``), not that
a claim holds. Mathematical identities (Theorem 1, the Lemma, ...) are not claims:
they keep their asserts with tolerances.

Each chapter's experiment module declares ``CLAIMS = (Claim(...), ...)`` and, when it
can compute them from stored results, ``measure_claims(preset) -> list[Verdict]``
(collected by ``tools/verdicts.py``); ``qwemlib.experiments.REGISTER`` gathers every
module's claims by key.

Used in: book/06_qwem_vs_word2vec.md (and every chapter that judges a claim).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

VERDICTS = ("holds", "fails", "not testable")

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Criterion:
    """What is measured, the comparison and the threshold, fixed before any result.

    Attributes:
        metric: what is measured, in words.
        op: one of ``">="``, ``">"``, ``"<="``, ``"<"``; the claim holds when
            ``measured op threshold``.
        threshold: the value the measurement is compared with.
        testable_if: in words, when the claim can be judged here at all (e.g. "a family
            with N >= 20"); empty when it always can.

    Raises:
        ValueError: ``op`` is not one of the four comparisons, or ``threshold`` is NaN.
    """

    metric: str
    op: str
    threshold: float
    testable_if: str = ""

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(
                f"Criterion op={self.op!r} for {self.metric!r} is not a comparison; "
                f"use one of {tuple(_OPS)}"
            )
        if math.isnan(float(self.threshold)):
            raise ValueError(
                f"Criterion threshold for {self.metric!r} is NaN; give a number"
            )

    def satisfied(self, measured: float) -> bool:
        """Whether ``measured op threshold`` (``measured`` must be a number, not NaN)."""
        return bool(_OPS[self.op](float(measured), float(self.threshold)))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims that the book tests.

    Attributes:
        key: short id, unique across the register (e.g. ``"fig5-w2v-closer-to-qwem"``).
        statement: our words for the paper's claim.
        where: where the paper makes it ("Figure 5", "Section 4", "eq. 22 (A.4)").
        paper_value: the paper's published number, or ``""`` (quoted numbers only).
        criterion: how the claim is judged.
        chapter: the chapter that judges it ("book/06_qwem_vs_word2vec.md").
    """

    key: str
    statement: str
    where: str
    paper_value: str
    criterion: Criterion
    chapter: str


@dataclass(frozen=True)
class Verdict:
    """A claim's criterion applied to a measured value.

    Attributes:
        claim: the claim judged.
        measured: the measured value (NaN when not testable).
        testable: False when the claim cannot be judged here (its ``testable_if``
            does not hold); a NaN ``measured`` also makes it "not testable".
        detail: the numbers the measurement rests on, in words.
    """

    claim: Claim
    measured: float
    testable: bool
    detail: str

    @property
    def verdict(self) -> str:
        """"holds", "fails" or "not testable", computed from the criterion and ``measured``."""
        if not self.testable or math.isnan(self.measured):
            return "not testable"
        return "holds" if self.claim.criterion.satisfied(self.measured) else "fails"

    @property
    def holds(self) -> bool:
        """Whether the verdict is "holds"."""
        return self.verdict == "holds"


def judge(claim: Claim, measured: float, *, testable: bool = True,
          detail: str = "") -> Verdict:
    """Apply ``claim``'s criterion to ``measured``.

    Args:
        claim: the claim.
        measured: the measured value (a float; NaN means not testable).
        testable: False when the claim's ``testable_if`` does not hold here.
        detail: the numbers the measurement rests on, in words.

    Returns:
        A :class:`Verdict`.

    Raises:
        ValueError: ``measured`` is not a real number.

    Used in: book/06_qwem_vs_word2vec.md.
    """
    try:
        value = float(measured)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"judge({claim.key!r}): measured={measured!r} is not a number; pass the "
            "measured value as a float (NaN when not testable)"
        ) from err
    return Verdict(claim=claim, measured=value, testable=bool(testable), detail=detail)


def verdict_table(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    """The verdicts as a table: claim, where, paper, criterion, measured, verdict.

    Used in: book/06_qwem_vs_word2vec.md, tools/verdicts.py.
    """
    rows = [
        {
            "claim": v.claim.statement,
            "where": v.claim.where,
            "paper": v.claim.paper_value,
            "criterion": str(v.claim.criterion),
            "measured": v.measured,
            "verdict": v.verdict,
        }
        for v in verdicts
    ]
    columns = ["claim", "where", "paper", "criterion", "measured", "verdict"]
    return pd.DataFrame(rows, columns=columns)


def collect_claims(*groups: Iterable[Claim]) -> dict[str, Claim]:
    """Gather modules' ``CLAIMS`` into one dict by key.

    Raises:
        ValueError: two claims share a key.

    Used in: qwemlib/experiments/__init__.py (``REGISTER``).
    """
    register: dict[str, Claim] = {}
    for group in groups:
        for claim in group:
            if claim.key in register:
                raise ValueError(
                    f"claim key {claim.key!r} is declared twice ({register[claim.key].chapter}"
                    f" and {claim.chapter}); give each claim its own key"
                )
            register[claim.key] = claim
    return register
