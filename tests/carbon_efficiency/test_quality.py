"""Data quality: the CICES DQR and its bands, and the emission-weighted score of activity data."""

import json
from importlib import resources

import pytest

from carbon_efficiency.model import COMBUSTION, PURCHASED_ELECTRICITY, ZERO_CARBON_DEDUCTIONS
from carbon_efficiency.quality import (
    DataQuality,
    activity_data_quality,
    dqr,
    quality_band,
    quality_bands,
    source_score,
)
from tests.carbon_efficiency.emission_lines import line


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ((1, 1, 1, 1), (1.0, "excellent")),
        ((1, 2, 2, 1), (1.5, "excellent")),  # 6/4 = 1.5, on the edge: the better band
        ((2, 2, 2, 1), (1.75, "very-good")),
        ((2, 2, 2, 2), (2.0, "very-good")),
        ((3, 3, 3, 2), (2.75, "good")),
        ((3, 3, 3, 3), (3.0, "good")),
        ((4, 4, 4, 3), (3.75, "fair")),
        ((4, 4, 4, 4), (4.0, "fair")),
        ((5, 4, 4, 4), (4.25, "poor")),
        ((5, 5, 5, 5), (5.0, "poor")),
    ],
)
def test_dqr_is_the_mean_of_four_scores_in_its_band(scores, expected):
    assert dqr(*scores) == expected


@pytest.mark.parametrize(
    ("scores", "name"),
    [((0, 1, 1, 1), "TiR"), ((1, 6, 1, 1), "TeR"), ((1, 1, 2.5, 1), "GeR"), ((1, 1, 1, True), "SoR")],
)
def test_dqr_scores_are_integers_one_to_five(scores, name):
    with pytest.raises(ValueError, match=f"^{name} .*: expected an integer score from 1"):
        dqr(*scores)


def test_bands_have_chinese_and_english_names():
    assert [(b.band, b.name_zh) for b in quality_bands()] == [
        ("excellent", "优秀"),
        ("very-good", "很好"),
        ("good", "良好"),
        ("fair", "一般"),
        ("poor", "较差"),
    ]
    assert quality_band(4.01).name_en == "poor"
    with pytest.raises(ValueError, match="scale runs from 1"):
        quality_band(0.5)


def test_activity_score_is_weighted_by_emissions():
    # meter (1) on 900 t, estimate (5) on 100 t: (900 × 1 + 100 × 5) / 1000 = 1.4
    lines = [
        line("/electricity/0", PURCHASED_ELECTRICITY, 900.0, data_source="meter"),
        line("/fuels/0", COMBUSTION, 100.0, data_source="estimate"),
    ]
    quality = activity_data_quality(lines)
    assert quality.score == pytest.approx(1.4, rel=1e-12)
    assert quality.band == "excellent"
    assert quality.warnings == ("estimate (score 5 of 5): 10.0% of emissions (/fuels/0)",)


def test_deductions_weigh_by_their_size():
    # evidence (1) on −100 t, estimate (5) on 100 t: (100 × 1 + 100 × 5) / 200 = 3.0
    lines = [
        line("/offsets/0", ZERO_CARBON_DEDUCTIONS, -100.0, data_source="evidence"),
        line("/fuels/0", COMBUSTION, 100.0, data_source="estimate"),
    ]
    assert activity_data_quality(lines) == DataQuality(3.0, "good", activity_data_quality(lines).warnings)


def test_all_zero_lines_take_the_plain_mean_and_no_lines_no_score():
    # invoice (2) and manual entry (4), both 0 t: (2 + 4) / 2 = 3.0
    lines = [
        line("/fuels/0", COMBUSTION, 0.0, data_source="invoice"),
        line("/fuels/1", COMBUSTION, 0.0, data_source="manual-entry"),
    ]
    quality = activity_data_quality(lines)
    assert (quality.score, quality.band) == (3.0, "good")
    assert quality.warnings == ("manual-entry (score 4 of 5): 50.0% of emissions (/fuels/1)",)
    assert activity_data_quality([]).score is None


def test_a_long_list_of_lines_is_shortened():
    lines = [line(f"/fuels/{i}", COMBUSTION, 1.0, data_source="estimate") for i in range(8)]
    [warning] = activity_data_quality(lines).warnings
    assert warning.endswith("(/fuels/0, /fuels/1, /fuels/2, /fuels/3, /fuels/4 and 3 more)")


def test_unknown_kind_names_the_line():
    with pytest.raises(ValueError, match=r"^/fuels/0: data source kind 'guess' has no score"):
        activity_data_quality([line("/fuels/0", COMBUSTION, 1.0, data_source="guess")])


def test_every_document_data_source_kind_has_a_score():
    schema = json.loads(
        resources.files("metadata_templates")
        .joinpath("templates/activity-data/1/schema.json")
        .read_text("utf-8")
    )
    for kind in schema["$defs"]["dataSource"]["properties"]["kind"]["enum"]:
        assert 1 <= source_score(kind) <= 5
    assert source_score("meter") == 1
    assert source_score("estimate") == 5
