"""Documentation stays true: every setting is documented; the README names the two commands CI runs."""

import re

from webmap import DEFAULTS

from .conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def test_every_setting_is_documented():
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README, re.M))
    assert documented == set(DEFAULTS)


def test_ci_runs_the_readme_test_command():
    assert "scripts/test" in README and "scripts/run" in README
    assert "scripts/test" in (ROOT / ".ci/run").read_text()
