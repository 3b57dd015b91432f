"""The pure arithmetic of `eval faces`: rates and the threshold for a target FMR."""

from __future__ import annotations

import math

from server.evaluation.faces_eval import summarise, threshold_for_fmr


def test_threshold_stays_below_the_first_intolerable_impostor() -> None:
    impostors = [0.9, 0.7, 0.65, 1.1]
    threshold = threshold_for_fmr(impostors, 0.001)
    assert threshold < 0.65 and math.isclose(threshold, 0.65)
    # With 2000 impostors, 0.1 % tolerates two false matches.
    many = [0.5 + i / 1000 for i in range(2000)]
    assert 0.501 < threshold_for_fmr(many, 0.001) < 0.502


def test_rates_at_the_configured_threshold() -> None:
    result = summarise([0.3, 0.4, 0.7], [0.55, 0.9, 1.0, 1.2], 0.6, [])
    assert result.pairs == 7
    assert result.fnmr == round(1 / 3, 4) and result.fmr == 0.25
    assert result.accuracy == round(5 / 7, 4)
    assert result.threshold_at_target_fmr < 0.55 and result.fnmr_at_target_fmr == round(1 / 3, 4)
