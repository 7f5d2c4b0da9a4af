"""flask --app webmap layers ..."""

from .conftest import DATA, feature_collection, point


def test_layers_list(runner):
    result = runner.invoke(args=["layers", "list"])
    assert result.exit_code == 0
    assert "outdoor_dining_pilots" in result.output and "外摆试点" in result.output


def test_layers_check_accepts_a_good_file(runner):
    result = runner.invoke(args=["layers", "check", "hq_clusters", str(DATA / "hq_clusters.geojson")])
    assert result.exit_code == 0 and "3 features accepted, 0 errors" in result.output


def test_layers_check_refuses_with_the_report(runner, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text(feature_collection([point("a", 120.38, 36.07, status="open")]), "utf-8")
    result = runner.invoke(args=["layers", "check", "outdoor_dining_pilots", str(bad)])
    assert result.exit_code == 1
    assert "bad.geojson: 第 1 个要素 feature 1 「测试点 a」 (id 'a'): error: 「状态」「open」不是可选值" in result.output


def test_layers_check_reads_gcj02_and_gbk(runner, tmp_path):
    from layers import coords

    x, y = coords.wgs84_to_gcj02(120.38, 36.07)
    path = tmp_path / "gbk.geojson"
    path.write_bytes(feature_collection([point("a", float(x), float(y), name="劈柴院")]).encode("gb18030"))
    refused = runner.invoke(args=["layers", "check", "outdoor_dining_pilots", str(path)])
    assert refused.exit_code == 1 and "--encoding gb18030" in refused.output
    ok = runner.invoke(args=["layers", "check", "outdoor_dining_pilots", str(path), "--encoding", "gb18030",
                             "--crs", "gcj02"])
    assert ok.exit_code == 0, ok.output


def test_layers_check_names_the_fixes_as_options_the_staff_preview_offers(runner, tmp_path):
    from .test_clerk import HEADER, ROWS

    path = tmp_path / "外摆.csv"
    path.write_bytes((HEADER + "".join(r + "\n" for r in ROWS)).encode("gbk"))
    gbk = runner.invoke(args=["layers", "check", "outdoor_dining_pilots", str(path)])
    assert gbk.exit_code == 1 and "修正 fix: --encoding gb18030" in gbk.output
    swapped = runner.invoke(args=["layers", "check", "outdoor_dining_pilots", str(path), "--encoding", "gbk"])
    assert swapped.exit_code == 1 and "修正 fix: --swap 3 " in swapped.output and "第 3 行 row 3" in swapped.output
    fixed = runner.invoke(args=["layers", "check", "outdoor_dining_pilots", str(path), "--encoding", "gbk", "--swap", "3"])
    assert fixed.exit_code == 0 and "3 features accepted, 0 errors" in fixed.output and "--swap" not in fixed.output
    for bad in (["--swap", "x"], ["--swap", "1"], ["--crs", "EPSG:abc"], ["--encoding", "latin-1"]):
        result = runner.invoke(args=["layers", "check", "outdoor_dining_pilots", str(path), *bad])
        assert result.exit_code == 2 and f"Invalid value for {bad[0]}" in result.output, bad


def test_layers_quarantine_needs_an_output_or_list(runner):
    result = runner.invoke(args=["layers", "quarantine", "hq_clusters"])
    assert result.exit_code == 2 and "--output" in result.output
    listing = runner.invoke(args=["layers", "quarantine", "hq_clusters", "--list"])
    assert listing.exit_code == 0 and "no import has kept refused features" in listing.output
