"""The external geojsonhint corpus (../shared/corpus): every file is accepted or refused with a message."""

import json

import pytest

from layers.load import read_layer
from layers.registry import KINDS

from .conftest import CORPUS

BAD = sorted((CORPUS / "bad").glob("*.geojson"))
GOOD = sorted((CORPUS / "good").glob("*.geojson"))

#: Where this project deliberately differs from geojsonhint, and why.
ACCEPTED_DESPITE_GEOJSONHINT = {
    "bad-feature-with-number-id.geojson": "RFC 7946 section 3.2 allows a number as a feature id",
    "geometrycollection_nested.geojson": "RFC 7946 says SHOULD avoid: accepted with a warning",
    "geometrycollection_single.geojson": "RFC 7946 says SHOULD avoid: accepted with a warning",
}
REFUSED_DESPITE_GEOJSONHINT = {
    "issue82.geojson": "a latitude of -107 is not a position on Earth",
}


def _geojsonhint_refuses(path) -> bool:
    result = json.loads(path.with_suffix(".result").read_text())
    return any(item.get("level") != "message" for item in result)


def test_the_corpus_is_there():
    assert len(BAD) >= 40 and len(GOOD) >= 15, f"expected the geojsonhint corpus in {CORPUS}"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_files_get_a_verdict_with_a_message(path):
    layer = read_layer(path)
    expected_refused = _geojsonhint_refuses(path) and path.name not in ACCEPTED_DESPITE_GEOJSONHINT
    assert layer.report.ok is not expected_refused, layer.report.text()
    if path.name != "excessive_precision_truncated.geojson":  # geojsonhint finds nothing there either
        assert layer.report.problems, "a file in the bad corpus passed without a word"
    for problem in layer.report.problems:
        assert problem.message and path.name in str(problem)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_files_are_accepted(path):
    layer = read_layer(path)
    assert layer.report.ok is (path.name not in REFUSED_DESPITE_GEOJSONHINT), layer.report.text()


@pytest.mark.parametrize("path", BAD + GOOD, ids=lambda p: p.name)
def test_as_layer_files_every_corpus_file_gets_a_clear_refusal(path):
    # None of the corpus is in Qingdao or carries our schema: as a layer of any kind each is refused, cleanly.
    for kind in KINDS:
        layer = read_layer(path, kind)
        assert not layer.report.ok and len(layer) == 0
        assert all(p.message for p in layer.report.errors)
        assert "fault in the reader" not in layer.report.text()
