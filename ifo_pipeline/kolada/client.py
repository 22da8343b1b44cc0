"""A Kolada API v3 client on requests. Plain Python: no Dagster here.

- Path-form URLs (`/data/kpi/{ids}/municipality/{ids}/year/{years}`): the query-string form
  silently returns nothing on a misspelt parameter. At most 25 ids per segment, `per_page=5000`,
  one year per request (Kolada batched by year).
- Paging follows `next_url` to the end (never trusting `count`), and refuses a loop.
- Every call has a timeout; 429, 5xx, connection errors, timeouts and truncated bodies are
  retried (tenacity) with exponential backoff and jitter, honouring `Retry-After` in both its
  forms, never past the fetch's deadline (`deadline_seconds`, which urllib3's Retry lacks).
- A bounded number of requests is in flight at once (segments fetched in parallel).
- Every response is validated (pydantic, extra fields forbidden), so a renamed field fails
  loudly instead of producing empty data. A final failure names the URL.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from itertools import product
from typing import Literal

import requests
import tenacity
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)
IDS_PER_SEGMENT = 25
PER_PAGE = 5000
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class _Transient(Exception):
    """A failure worth another attempt, with the server's Retry-After when it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class KoladaError(RuntimeError):
    """The API could not be read; the message names the URL and why."""

    def __init__(self, url: str, reason: str):
        self.url = url
        super().__init__(f"Kolada request failed: {url}: {reason}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Value(_Strict):
    gender: Literal["T", "K", "M"]
    count: int | None = None
    status: str | None = None
    value: float | None
    isdeleted: bool


class DataRow(_Strict):
    kpi: str
    municipality: str
    period: int
    values: list[Value]


class Page(_Strict):
    count: int | None = None
    next_url: str | None = None
    previous_url: str | None = None


class DataPage(Page):
    values: list[DataRow]


class Municipality(_Strict):
    id: str
    title: str
    type: str


class MunicipalityPage(Page):
    values: list[Municipality]


class GroupMember(_Strict):
    member_id: str
    member_title: str


class Group(_Strict):
    id: str
    title: str
    members: list[GroupMember]


class GroupPage(Page):
    values: list[Group]


class Kpi(BaseModel):
    # The KPI catalogue carries many descriptive fields; the ones used are required.
    model_config = ConfigDict(extra="allow")
    id: str
    title: str
    publ_period: str | None = None
    prel_publication_date: str | None = None


class KpiPage(Page):
    values: list[Kpi]


PAGE_MODELS: dict[str, type[Page]] = {
    "data": DataPage,
    "municipality": MunicipalityPage,
    "municipality_groups": GroupPage,
    "kpi": KpiPage,
}


@dataclass(frozen=True)
class Response:
    url: str
    fetched_at: float
    body: bytes  # exactly as received: it is landed before it is parsed
    payload: dict


def batches(ids: Sequence[str], size: int = IDS_PER_SEGMENT) -> list[str]:
    """Comma-joined segments of at most `size` ids (more gives HTTP 422)."""
    unique = list(dict.fromkeys(str(i) for i in ids))
    return [",".join(unique[i : i + size]) for i in range(0, len(unique), size)]


def data_urls(
    base_url: str, kpis: Sequence[str], municipalities: Sequence[str], years: Sequence[int]
) -> list[str]:
    """Batched by year: one request per year (and id segments), so that a year's figures are
    one landed response each, and a failure names the year it could not fetch."""
    base = base_url.rstrip("/")
    return [
        f"{base}/data/kpi/{k}/municipality/{m}/year/{y}?per_page={PER_PAGE}"
        for y, k, m in product(sorted(set(years)), batches(kpis), batches(municipalities))
    ]


def metadata_urls(base_url: str, kind: str, ids: Sequence[str]) -> list[str]:
    base = base_url.rstrip("/")
    return [f"{base}/{kind}/{segment}?per_page={PER_PAGE}" for segment in batches(ids)]


class KoladaClient:
    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        max_in_flight: int = 4,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline_seconds: float | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_in_flight = max_in_flight
        self.session = session or requests.Session()
        self._sleep = sleep
        # The whole fetch gives up at this moment, retries included: an outage costs a bounded
        # time, and the next scheduled fetch (or a rerun) picks it up.
        self._deadline = None if deadline_seconds is None else time.monotonic() + deadline_seconds
        self.deadline_seconds = deadline_seconds

    def _remaining(self, url: str, last_reason: str) -> float | None:
        if self._deadline is None:
            return None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise KoladaError(
                url, f"gave up after the fetch's {self.deadline_seconds:.0f} s: {last_reason}"
            )
        return remaining

    # -- one request, with retries (tenacity) ---------------------------------------------
    def get(self, url: str, kind: str) -> Response:
        last = {"reason": "no attempt made"}  # per call: requests run in parallel threads

        def attempt() -> Response:
            try:
                return self._attempt(url, kind, last["reason"])
            except _Transient as exc:
                last["reason"] = exc.reason
                raise

        def sleep(seconds: float) -> None:
            # Never past the fetch's deadline: it raises KoladaError, which is not retried.
            remaining = self._remaining(url, last["reason"])
            self._sleep(seconds if remaining is None else min(seconds, remaining))

        def log_retry(state: tenacity.RetryCallState) -> None:
            log.warning(
                "Kolada: %s: %s; retry %d of %d in %.1f s",
                url,
                last["reason"],
                state.attempt_number,
                self.max_attempts - 1,
                state.upcoming_sleep,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            sleep=sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Transient:
            raise KoladaError(
                url, f"gave up after {self.max_attempts} attempts: {last['reason']}"
            ) from None

    def _attempt(self, url: str, kind: str, last_reason: str) -> Response:
        """One GET: the response, KoladaError for a final failure, _Transient to retry."""
        remaining = self._remaining(url, last_reason)
        timeout = self.timeout if remaining is None else min(self.timeout, remaining)
        try:
            log.debug("GET %s", url)
            reply = self.session.get(url, timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if reply.status_code in RETRY_STATUS:
            raise _Transient(
                f"HTTP {reply.status_code}", _retry_after(reply.headers.get("Retry-After"))
            )
        if reply.status_code != 200:
            raise KoladaError(url, f"HTTP {reply.status_code}: {reply.text[:200]}")
        try:
            payload = json.loads(reply.content)
        except ValueError as exc:  # a truncated or garbled body: try again
            raise _Transient(f"the body is not complete JSON ({exc})") from exc
        try:
            PAGE_MODELS[kind].model_validate(payload)
        except ValidationError as exc:
            raise KoladaError(
                url, f"the response does not have the expected shape (has the API changed?): {exc}"
            ) from exc
        return Response(url, time.time(), reply.content, payload)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """The server's Retry-After when it gave one, else exponential backoff with jitter."""
        failure = state.outcome.exception() if state.outcome else None
        retry_after = failure.retry_after if isinstance(failure, _Transient) else None
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        ceiling = min(
            self.max_backoff_seconds, self.backoff_seconds * 2 ** (state.attempt_number - 1)
        )
        return random.uniform(ceiling / 2, ceiling)  # jitter: retries do not stampede

    # -- paging ---------------------------------------------------------------------------
    def pages(self, url: str, kind: str) -> list[Response]:
        """Every page from `url`, following next_url until it is null or absent."""
        seen: set[str] = set()
        out = []
        next_url: str | None = url
        while next_url:
            if next_url in seen:
                raise KoladaError(
                    next_url, "next_url points back to a page already read (a paging loop)"
                )
            seen.add(next_url)
            response = self.get(next_url, kind)
            out.append(response)
            next_url = response.payload.get("next_url")
        return out

    def fetch_all(self, urls: Sequence[str], kind: str) -> list[Response]:
        """Every page of every URL, at most `max_in_flight` chains at a time, in URL order."""
        with ThreadPoolExecutor(max_workers=self.max_in_flight) as pool:
            chains = list(pool.map(lambda u: self.pages(u, kind), urls))
        return [page for chain in chains for page in chain]

    # -- the API ---------------------------------------------------------------------------
    def data(
        self, kpis: Sequence[str], municipalities: Sequence[str], years: Sequence[int]
    ) -> list[Response]:
        return self.fetch_all(data_urls(self.base_url, kpis, municipalities, years), "data")

    def metadata(self, kind: str, ids: Sequence[str]) -> list[Response]:
        return self.fetch_all(metadata_urls(self.base_url, kind, ids), kind)


def _retry_after(header: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, from either form of Retry-After: seconds, or an HTTP date."""
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None  # unreadable: fall back to the backoff
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def iter_data_rows(payload: dict) -> Iterator[dict]:
    """Flat rows (kpi, municipality, period, gender, value, count, status, isdeleted)."""
    for row in payload["values"]:
        for value in row["values"]:
            yield {
                "kpi": row["kpi"],
                "municipality": row["municipality"],
                "period": row["period"],
                **value,
            }
