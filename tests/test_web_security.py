"""The workbench's guards: login, roles, CSRF, escaping, masking, session expiry (TestClient)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from helpers.workbench import MOBILE, NOW, PASSWORD, csrf_of, seed, sign_in
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mdm.cli.app import app as cli
from warehouse.db import create_warehouse_engine
from warehouse.models import (
    LoginThrottle,
    SourceRecord,
    StewardDecision,
    StewardTask,
    WorkbenchSession,
)
from web import auth
from web.app import create_app


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    seed(url)
    return url


@pytest.fixture
def client(url: str) -> Iterator[TestClient]:
    app = create_app(url, idle_minutes=30)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
    app.state.engine.dispose()


def task_status(url: str) -> str:
    engine = sa.create_engine(url)
    with Session(engine) as session:
        status = session.get(StewardTask, 1).status  # type: ignore[union-attr]
    engine.dispose()
    return status


def decisions(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    with Session(engine) as session:
        rows = session.execute(
            sa.select(StewardDecision.action, StewardDecision.decided_by).order_by(
                StewardDecision.decision_id
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


PAGES = ["/", "/tasks/1", "/customers/C000000001", "/users", "/runs", "/runs/seed"]
FORMS = [
    "/tasks/1/decide",
    "/tasks/1/reveal",
    "/customers/C000000001/reveal",
    "/users",
    "/logout",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_without_login(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "陈丽" not in response.text and MOBILE not in response.text


@pytest.mark.parametrize("path", FORMS)
def test_no_action_without_login(client: TestClient, url: str, path: str) -> None:
    response = client.post(path, data={"action": "dismiss", "reason": "x", "field": "mobile"})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert task_status(url) == "open" and decisions(url) == []


def test_no_api_docs_to_map_the_workbench(client: TestClient) -> None:
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert client.get(path).status_code == 404


def test_a_wrong_password_or_a_forged_login_form_signs_no_one_in(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login", data={"username": "steward", "password": "x", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "mdm_session" not in wrong.cookies
    forged = client.post(
        "/login", data={"username": "steward", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403 and "mdm_session" not in forged.cookies
    assert client.get("/").status_code == 303


def test_a_viewer_reads_but_cannot_act(client: TestClient, url: str) -> None:
    token = sign_in(client, "viewer")
    page = client.get("/tasks/1")
    assert page.status_code == 200 and 'id="dismiss"' not in page.text
    for path in FORMS[:4]:
        response = client.post(
            path,
            data={
                "csrf_token": token,
                "action": "dismiss",
                "reason": "x",
                "field": "mobile",
                "record": "branch:B1",
                "username": "eve",
                "password": PASSWORD * 2,
                "role": "admin",
            },
        )
        assert response.status_code == 403, path
    assert task_status(url) == "open" and decisions(url) == []


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, url: str) -> None:
    token = sign_in(client, "steward")
    for data in ({}, {"csrf_token": "not-the-token"}, {"csrf_token": ""}):
        response = client.post(
            "/tasks/1/decide", data={**data, "action": "dismiss", "reason": "duplicate"}
        )
        assert response.status_code == 403
    assert task_status(url) == "open" and decisions(url) == []

    done = client.post(
        "/tasks/1/decide", data={"csrf_token": token, "action": "dismiss", "reason": "duplicate"}
    )
    assert done.status_code == 303 and task_status(url) == "dismissed"
    assert decisions(url) == [("dismiss", "steward")]


def test_a_steward_chooses_a_value_through_the_form(client: TestClient, url: str) -> None:
    token = sign_in(client, "steward")
    response = client.post(
        "/tasks/1/decide",
        data={"csrf_token": token, "action": "choose", "field": "full_name", "value": "陈丽"},
    )
    assert response.status_code == 303 and task_status(url) == "resolved"
    page = client.get("/customers/C000000001").text
    assert "choose_value" in page and "steward:1" in page


def test_script_in_a_name_is_shown_as_text(client: TestClient) -> None:
    sign_in(client, "viewer")
    for path in ("/", "/tasks/1", "/customers/C000000001"):
        page = client.get(path).text
        assert "<script>alert(1)</script>" not in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;陈丽" in client.get("/customers/C000000001").text


def test_pages_are_chinese_utf8_and_never_cached(client: TestClient) -> None:
    sign_in(client, "viewer")
    response = client.get("/tasks/1")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert '<html lang="zh-CN">' in response.text and "Noto Sans CJK SC" in response.text
    assert "陳麗" in response.text and "陈丽" in response.text


def test_identifiers_are_masked_and_a_reveal_is_audited(client: TestClient, url: str) -> None:
    token = sign_in(client, "steward")
    page = client.get("/customers/C000000001").text
    assert MOBILE not in page and "110101199003077777" not in page
    assert "+86138****5678" in page and "110101********7777" in page

    revealed = client.post(
        "/customers/C000000001/reveal",
        data={"csrf_token": token, "record": "branch:B1", "field": "mobile"},
    )
    assert revealed.status_code == 200 and revealed.text.count(MOBILE) == 1
    assert decisions(url) == [("reveal", "steward")]
    assert MOBILE not in client.get("/customers/C000000001").text  # masked again


def test_an_idle_session_expires(client: TestClient, url: str) -> None:
    sign_in(client, "steward")
    assert client.get("/").status_code == 200
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(WorkbenchSession).values(
                last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
            )
        )
        remaining = connection.execute(sa.select(sa.func.count()).select_from(WorkbenchSession))
        assert remaining.scalar_one() == 1
    response = client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(WorkbenchSession))
        assert count.scalar_one() == 0  # the expired session is gone, not just refused
    engine.dispose()


def test_signing_out_ends_the_session(client: TestClient) -> None:
    token = sign_in(client, "viewer")
    cookie = client.cookies.get("mdm_session")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.set("mdm_session", cookie or "")
    assert client.get("/").status_code == 303


def test_only_an_admin_manages_users(client: TestClient) -> None:
    token = sign_in(client, "steward")
    assert client.get("/users").status_code == 403
    client.cookies.clear()
    token = sign_in(client, "admin")
    created = client.post(
        "/users",
        data={"csrf_token": token, "username": "wang", "password": PASSWORD, "role": "viewer"},
    )
    assert created.status_code == 303
    assert "wang" in client.get("/users").text
    assert "argon2" not in client.get("/users").text


def test_users_add_reads_the_password_from_stdin_and_it_signs_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    runner = CliRunner()
    short = runner.invoke(
        cli, ["users", "add", "wang", "--password-stdin", "--warehouse", url], input="short\n"
    )
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    added = runner.invoke(
        cli,
        ["users", "add", "wang", "--role", "viewer", "--password-stdin", "--warehouse", url],
        input=f"{PASSWORD}\n",
    )
    assert added.exit_code == 0 and "user wang (viewer) saved" in added.output
    engine = sa.create_engine(url)
    with Session(engine) as session:
        assert auth.sign_in(session, username="wang", password=PASSWORD) is not None
        assert auth.sign_in(session, username="wang", password="x" * 12) is None
    engine.dispose()


def test_row12_task_reveal_is_limited_to_the_tasks_records(client: TestClient, url: str) -> None:
    other = "+8613900001111"
    engine = sa.create_engine(url)
    with Session(engine) as session, session.begin():
        session.add(
            SourceRecord(
                source_system="branch",
                source_record_id="Z9",
                source_file="seed.csv",
                source_row=2,
                raw_hash="1" * 64,
                record={"record_key": "branch:Z9", "full_name": "王芳", "mobile": other},
                ingested_at=NOW,
                last_run_id="seed",
            )
        )
    token = sign_in(client, "steward")
    refused = client.post(
        "/tasks/1/reveal", data={"csrf_token": token, "record": "branch:Z9", "field": "mobile"}
    )
    assert refused.status_code == 400 and other not in refused.text
    assert decisions(url) == []

    revealed = client.post(
        "/tasks/1/reveal", data={"csrf_token": token, "record": "branch:B1", "field": "mobile"}
    )
    assert revealed.status_code == 200 and MOBILE in revealed.text
    with Session(engine) as session:
        audit = session.execute(sa.select(StewardDecision)).scalar_one()
        assert (audit.action, audit.task_id) == ("reveal", 1)
        assert session.get(StewardTask, 1).status == "open"  # type: ignore[union-attr]
    engine.dispose()


def attempt(client: TestClient, username: str, password: str) -> int:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    return response.status_code


def throttle_rows(url: str) -> dict[tuple[str, str], tuple[int, dt.datetime | None]]:
    engine = sa.create_engine(url)
    with Session(engine) as session:
        rows = session.execute(sa.select(LoginThrottle)).scalars().all()
        found = {(r.scope, r.key): (r.failures, r.locked_until) for r in rows}
    engine.dispose()
    return found


def test_row6_repeated_wrong_passwords_lock_sign_in_for_a_growing_delay(
    client: TestClient, url: str
) -> None:
    assert [attempt(client, "steward", "wrong password") for _ in range(5)] == [401] * 5
    assert attempt(client, "steward", PASSWORD) == 429  # the right password too, while locked
    audit = [action for action, _ in decisions(url)]
    assert audit == ["sign_in_locked", "sign_in_refused"]
    failures, locked_until = throttle_rows(url)[("user", "steward")]
    assert failures == 5 and locked_until is not None

    engine = sa.create_engine(url)
    with engine.begin() as connection:  # the lock runs out
        connection.execute(
            sa.update(LoginThrottle).values(
                locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    engine.dispose()
    assert attempt(client, "steward", "wrong again!") == 401
    failures, locked_until = throttle_rows(url)[("user", "steward")]
    assert failures == 6 and locked_until is not None
    delay = auth._aware(locked_until) - dt.datetime.now(dt.UTC)
    assert auth.LOCK_BASE < delay <= 2 * auth.LOCK_BASE  # doubled


def test_row6_throttle_does_not_tell_which_user_names_exist(url: str) -> None:
    engine = create_warehouse_engine(url)
    outcomes: dict[str, list[str]] = {}
    for index, name in enumerate(("steward", "nobody-here")):
        seen: list[str] = []
        for _ in range(7):
            with Session(engine) as session:
                try:
                    token = auth.sign_in(
                        session, username=name, password="wrong password", client=f"10.0.0.{index}"
                    )
                    seen.append("wrong" if token is None else "in")
                except auth.SignInLocked:
                    seen.append("locked")
                session.commit()
        outcomes[name] = seen
    engine.dispose()
    assert outcomes["steward"] == outcomes["nobody-here"] == ["wrong"] * 5 + ["locked"] * 2


def test_row6_one_client_trying_many_names_is_throttled(url: str) -> None:
    engine = create_warehouse_engine(url)
    with Session(engine) as session:
        for number in range(5):
            auth.sign_in(session, username=f"guess{number}", password="x" * 12, client="10.9.9.9")
        with pytest.raises(auth.SignInLocked):
            auth.sign_in(session, username="steward", password=PASSWORD, client="10.9.9.9")
        assert auth.sign_in(session, username="steward", password=PASSWORD, client="10.1.1.1")
    engine.dispose()


@pytest.mark.parametrize("search", ["1381*5678", "138****5678", "+86138****5678", "5678", "13812"])
def test_row7_partial_or_masked_phone_search_is_refused_and_audited(
    client: TestClient, url: str, search: str
) -> None:
    sign_in(client, "viewer")
    response = client.get("/", params={"q": search})
    assert response.status_code == 400 and "whole number" in response.text
    assert "/tasks/1" not in response.text
    assert decisions(url) == [("search_refused", "viewer")]


def test_row7_whole_phone_or_id_search_finds_exactly_and_is_audited(
    client: TestClient, url: str
) -> None:
    sign_in(client, "viewer")
    for search in ("138 1234 5678", "110101199003077777"):
        assert "/tasks/1" in client.get("/", params={"q": search}).text
    assert "/tasks/1" not in client.get("/", params={"q": "13812345679"}).text
    assert "/tasks/1" in client.get("/", params={"q": "陈丽"}).text  # names are not audited
    engine = sa.create_engine(url)
    with Session(engine) as session:
        audit = session.execute(sa.select(StewardDecision.action, StewardDecision.subject)).all()
    engine.dispose()
    assert [tuple(row) for row in audit] == [
        ("search", {"field": "mobile"}),
        ("search", {"field": "id_number"}),
        ("search", {"field": "mobile"}),
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/?q=" + "7" * 60_000,  # a search of 60,000 characters (the test client stops at 64 KiB)
        "/?q=" + "x" * 300,
        "/?page=99999999999999999999",
        "/?page=0",
        "/tasks/99999999999999999999",
        "/customers/" + "C" * 5_000,
    ],
)
def test_row15_out_of_bounds_parameters_are_a_400_not_a_500(warehouse_url: str, path: str) -> None:
    seed(warehouse_url)
    app = create_app(warehouse_url, idle_minutes=30)
    with TestClient(app, follow_redirects=False) as test_client:
        sign_in(test_client, "viewer")
        response = test_client.get(path)
    app.state.engine.dispose()
    assert response.status_code in (400, 404), response.status_code
    assert "7777777777" not in response.text  # the refused value is not echoed


def test_row6_an_admin_unlocks_a_locked_sign_in_and_it_is_audited(
    client: TestClient, url: str
) -> None:
    assert [attempt(client, "steward", "wrong password") for _ in range(5)] == [401] * 5
    assert attempt(client, "steward", PASSWORD) == 429
    unlocked = CliRunner().invoke(
        cli,
        [
            "users",
            "unlock",
            "steward",
            "--by",
            "admin",
            "--client",
            "testclient",
            "--warehouse",
            url,
        ],
    )
    assert unlocked.exit_code == 0, unlocked.output
    assert "2 lock(s) cleared" in unlocked.output  # the name's and the address's
    assert throttle_rows(url) == {}
    assert attempt(client, "steward", PASSWORD) == 303  # signed in: redirected to the queue
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        by, subject = connection.execute(
            sa.text(
                "SELECT decided_by, subject FROM steward_decision WHERE action = 'sign_in_unlocked'"
            )
        ).one()
    engine.dispose()
    assert by == "admin" and "steward" in subject


def test_row7_identifier_searches_are_capped_per_user_and_minute(
    client: TestClient, url: str
) -> None:
    from web.limits import IDENTIFIER_SEARCHES_PER_MINUTE, SearchLimit

    sign_in(client, "viewer")
    codes = [
        client.get("/", params={"q": f"1381234{n:04d}"}).status_code
        for n in range(IDENTIFIER_SEARCHES_PER_MINUTE + 2)
    ]
    assert codes == [200] * IDENTIFIER_SEARCHES_PER_MINUTE + [429, 429]
    refused = client.get("/", params={"q": "13812345678"})
    assert 0 < int(refused.headers["Retry-After"]) <= 60 and "try again" in refused.text
    assert client.get("/", params={"q": "陈丽"}).status_code == 200  # names are not capped
    searches = [action for action, _ in decisions(url) if action == "search"]
    assert len(searches) == IDENTIFIER_SEARCHES_PER_MINUTE  # refused ones ran no search
    window = SearchLimit(per_window=2)
    assert [window.wait_seconds("a", now=t) for t in (0.0, 1.0, 2.0)] == [0, 0, 58]
    assert window.wait_seconds("b", now=2.0) == 0  # per user
    assert window.wait_seconds("a", now=60.5) == 0  # the first search left the window
