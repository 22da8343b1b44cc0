"""The Kolada client against a real local HTTP server replaying Kolada's real shapes."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ifo_pipeline.kolada.client import KoladaClient, KoladaError, batches, data_urls


def envelope(values, next_url=None):
    return {"count": len(values), "next_url": next_url, "previous_url": None, "values": values}


def client(server: HTTPServer, **kwargs) -> KoladaClient:
    options = {"timeout": 2.0, "max_attempts": 3, "backoff_seconds": 0.01}
    return KoladaClient(server.url_for("/v3"), **{**options, **kwargs})


def serve_pages(server: HTTPServer, path: str, values: list, page_size: int) -> None:
    """Serve `values` at `path` as pages linked by next_url (?page=N)."""
    pages = [values[i : i + page_size] for i in range(0, len(values), page_size)]
    for number, page in enumerate(pages):
        next_url = (
            server.url_for(path) + f"?per_page=5000&page={number + 1}"
            if number + 1 < len(pages)
            else None
        )
        query = "per_page=5000" if number == 0 else f"per_page=5000&page={number}"
        server.expect_request(path, query_string=query).respond_with_json(envelope(page, next_url))


def test_all_312_real_municipalities_arrive_across_pages(httpserver, shared_dir):
    municipalities = json.loads(
        (shared_dir / "kolada" / "municipality_v3_all312.json").read_text(encoding="utf-8")
    )
    serve_pages(httpserver, "/v3/municipality", municipalities, page_size=50)
    responses = client(httpserver).pages(
        httpserver.url_for("/v3/municipality?per_page=5000"), "municipality"
    )
    ids = [m["id"] for r in responses for m in r.payload["values"]]
    assert len(responses) == 7
    assert ids == [m["id"] for m in municipalities]
    assert "0138" in ids


def test_real_data_rows_page_and_flatten(httpserver, shared_dir):
    rows = json.loads(
        (shared_dir / "kolada" / "omsorgsradar__kolada_n21704_fixture.json").read_text(
            encoding="utf-8"
        )
    )["values"]
    path = "/v3/data/kpi/N21704/municipality/0180,0580/year/2023"
    serve_pages(httpserver, path, rows, page_size=2)
    responses = client(httpserver).pages(httpserver.url_for(path) + "?per_page=5000", "data")
    assert len(responses) == 3
    assert sum(len(r.payload["values"]) for r in responses) == len(rows)


def test_ids_are_batched_25_per_segment_and_years_one_per_request():
    ids = [f"{i:04d}" for i in range(60)]
    assert [len(b.split(",")) for b in batches(ids)] == [25, 25, 10]
    urls = data_urls("http://x/v3", ["N30001"], ids, [2019, 2018])
    assert len(urls) == 6
    assert urls[0].startswith("http://x/v3/data/kpi/N30001/municipality/0000,0001,")
    assert [u.rsplit("/year/", 1)[1] for u in urls[::3]] == [
        "2018?per_page=5000",
        "2019?per_page=5000",
    ]


def test_429_and_500_are_retried_then_answered(httpserver):
    path = "/v3/kpi/N30001"
    httpserver.expect_ordered_request(path).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request(path).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(path).respond_with_json(
        envelope([{"id": "N30001", "title": "Nettokostnadsavvikelse IFO", "publ_period": "2025"}])
    )
    response = client(httpserver).get(httpserver.url_for(path), "kpi")
    assert response.payload["values"][0]["id"] == "N30001"
    assert len(httpserver.log) == 3


def test_a_server_that_keeps_failing_names_the_url(httpserver):
    httpserver.expect_request("/v3/municipality/0138").respond_with_data("down", status=503)
    url = httpserver.url_for("/v3/municipality/0138")
    with pytest.raises(KoladaError) as exc:
        client(httpserver, max_attempts=3).get(url, "municipality")
    assert url in str(exc.value) and "3 attempts" in str(exc.value) and "503" in str(exc.value)
    assert len(httpserver.log) == 3


def test_a_timeout_is_retried(httpserver):
    calls = []

    def slow_then_fast(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            time.sleep(0.6)
        return Response(json.dumps(envelope([])), content_type="application/json")

    httpserver.expect_request("/v3/municipality/0138").respond_with_handler(slow_then_fast)
    response = client(httpserver, timeout=0.2).get(
        httpserver.url_for("/v3/municipality/0138"), "municipality"
    )
    # The single-threaded server queues the retry behind the slow answer: 2 or 3 calls.
    assert response.payload["values"] == [] and len(calls) >= 2


def test_a_truncated_body_is_retried_and_then_refused(httpserver):
    path = "/v3/municipality/0138"
    httpserver.expect_ordered_request(path).respond_with_data('{"values": [{"id": "01')
    httpserver.expect_ordered_request(path).respond_with_json(
        envelope([{"id": "0138", "title": "Tyresö", "type": "K"}])
    )
    assert (
        client(httpserver)
        .get(httpserver.url_for(path), "municipality")
        .payload["values"][0]["title"]
        == "Tyresö"
    )
    httpserver.clear()
    httpserver.expect_request(path).respond_with_data('{"values": [')
    with pytest.raises(KoladaError, match="not complete JSON"):
        client(httpserver).get(httpserver.url_for(path), "municipality")


def test_a_renamed_field_fails_loudly(httpserver):
    row = {
        "kpi": "N30001",
        "municipality_id": "0138",
        "period": 2019,
        "values": [{"gender": "T", "count": 1, "status": "", "value": 14.4, "isdeleted": False}],
    }
    httpserver.expect_request("/v3/data/kpi/N30001/municipality/0138/year/2019").respond_with_json(
        envelope([row])
    )
    with pytest.raises(KoladaError, match="expected shape") as exc:
        client(httpserver).get(
            httpserver.url_for("/v3/data/kpi/N30001/municipality/0138/year/2019"), "data"
        )
    assert "municipality" in str(exc.value)


def test_a_next_url_that_loops_is_refused(httpserver):
    path = "/v3/municipality"
    first = httpserver.url_for(path) + "?page=1"
    second = httpserver.url_for(path) + "?page=2"
    httpserver.expect_request(path, query_string="page=1").respond_with_json(
        envelope([{"id": "0138", "title": "Tyresö", "type": "K"}], next_url=second)
    )
    httpserver.expect_request(path, query_string="page=2").respond_with_json(
        envelope([{"id": "0136", "title": "Haninge", "type": "K"}], next_url=first)
    )
    with pytest.raises(KoladaError, match="paging loop"):
        client(httpserver).pages(first, "municipality")


def test_no_more_requests_in_flight_than_allowed():
    server = HTTPServer(threaded=True)
    server.start()
    try:
        lock, state = threading.Lock(), {"now": 0, "max": 0}

        def tracked(request: Request) -> Response:
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.1)
            with lock:
                state["now"] -= 1
            return Response(json.dumps(envelope([])), content_type="application/json")

        server.expect_request("/v3/municipality/" + "x").respond_with_handler(tracked)
        for i in range(8):
            server.expect_request(f"/v3/municipality/{i:04d}").respond_with_handler(tracked)
        urls = [server.url_for(f"/v3/municipality/{i:04d}") for i in range(8)]
        client(server, max_in_flight=2).fetch_all(urls, "municipality")
        assert state["max"] == 2
        assert {urlsplit(r.url).path for r, _ in server.log} == {urlsplit(u).path for u in urls}
    finally:
        server.stop()


def test_retry_after_is_read_in_both_forms():
    from email.utils import formatdate

    from ifo_pipeline.kolada.client import _retry_after

    now = 1_700_000_000.0
    assert _retry_after("7", now) == 7.0
    assert _retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30.0)
    assert _retry_after(formatdate(now - 30, usegmt=True), now) == 0.0  # already past
    assert _retry_after("soon", now) is None  # unreadable: the backoff decides


def test_a_deadline_bounds_the_whole_fetch_retries_included(httpserver):
    import time

    from ifo_pipeline.kolada.client import KoladaClient, KoladaError

    httpserver.expect_request("/v3/kpi/N30005").respond_with_data("busy", status=503)
    client = KoladaClient(
        httpserver.url_for("/v3"), max_attempts=50, backoff_seconds=0.5, deadline_seconds=2
    )
    started = time.monotonic()
    with pytest.raises(KoladaError, match="gave up after the fetch's 2 s"):
        client.metadata("kpi", ["N30005"])
    assert time.monotonic() - started < 5
