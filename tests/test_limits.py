"""The store's String(n) limits: the same clear answer on SQLite and PostgreSQL, from the CLI and the web,
never a traceback or a 500."""

import pytest
from sqlalchemy import select

from layers.store import imports_t
from webmap import create_app

from .conftest import feature_collection, password_hash, point
from .test_staff import PASSWORD, login, publish_form, upload


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    url = f"sqlite:///{tmp_path}/store.sqlite" if request.param == "sqlite" else \
        request.getfixturevalue("postgres").new_database()
    app = create_app({"TESTING": True, "BASEMAP": "none", "DATABASE_URL": url, "UPLOAD_DIR": str(tmp_path / "up")})
    app.extensions["store"].create_user("ed", password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"],
                                        actor="test")
    yield app
    app.extensions["store"].engine.dispose()


def sources(app):
    with app.extensions["store"].engine.connect() as conn:
        return [r[0] for r in conn.execute(select(imports_t.c.source).order_by(imports_t.c.id))]


def test_cli_import_of_a_long_path_with_a_long_id(app, tmp_path):
    folder = tmp_path / ("目录" * 40) / ("d" * 200) / ("e" * 200)
    folder.mkdir(parents=True)
    path = folder / ("f" * 150 + ".geojson")
    path.write_text(feature_collection([point("x" * 600, 120.38, 36.07), point("ok", 120.39, 36.07)]), "utf-8")
    assert len(str(path)) > 512
    result = app.test_cli_runner().invoke(args=["layers", "import", "outdoor_dining_pilots", str(path),
                                                "--mode", "append", "--author", "作者" * 100])
    assert result.exception is None, result.output
    assert "600 characters long; at most 200" in result.output and "version 2: +1 added" in result.output
    source = sources(app)[-1]
    assert len(source) == 512 and source.endswith("…") and source.startswith(str(tmp_path))


def test_cli_refuses_a_user_name_that_does_not_fit(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "n" * 65, "--role", "editor"],
                                          input="a long enough password\n")
    assert result.exit_code == 1 and "用户名无效" in result.output and result.exception.__class__ is SystemExit
    assert app.extensions["store"].user("n" * 65) is None


def test_web_upload_with_a_long_file_name_publishes(app):
    client = login(app.test_client(), "ed")
    name = "外摆" * 300 + ".geojson"
    page = upload(client, "outdoor_dining_pilots", feature_collection([point("new", 120.38, 36.07)]).encode(),
                  filename=name, mode="append")
    assert page.status_code == 200
    done = client.post("/staff/layers/outdoor_dining_pilots/publish", data=publish_form(page.get_data(as_text=True)))
    assert done.status_code == 302
    assert sources(app)[-1] == name[:511] + "…"
