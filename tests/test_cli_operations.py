"""Operations at 02:00, through the real `ifo` command in its own process: a Kolada outage
that holds nothing back, interrupts at several points, a status that remembers, mistakes that
get a message instead of a traceback, settings with one source of truth."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from ifo_pipeline.defs import build_definitions
from ifo_pipeline.sample.generator import generate_sample
from ifo_pipeline.settings import ENV_NAMES, Settings, SettingsError, is_cron
from tests.conftest import marts
from tests.network import free_port

IFO = str(Path(sys.executable).parent / "ifo")


def ifo(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 600):
    return subprocess.run(
        [IFO, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IFO_", "DAGSTER_HOME"))}
    return {
        **env,
        "IFO_WAREHOUSE_DIR": str(settings.warehouse_dir),
        "IFO_LANDING_DIR": str(settings.landing_dir),
        **extra,
    }


def refused_port() -> int:
    """A port where nothing listens: connections are refused, as with no network."""
    return free_port()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Settings, dict[str, list]]:
    """An uninterrupted offline run of a small sample: the marts every other run must equal."""
    root = tmp_path_factory.mktemp("reference")
    settings = Settings(warehouse_dir=root / "warehouse", landing_dir=root / "landing")
    generate_sample(settings.landing_dir, rows_per_unit_month=4)
    done = ifo("run", "--offline", env=environment(settings))
    assert done.returncode == 0, done.stderr
    return settings, marts(settings.published_path)


def test_without_kolada_the_finance_marts_are_published_and_the_run_says_why(reference, tmp_path):
    settings = Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=tmp_path / "landing")
    generate_sample(settings.landing_dir, rows_per_unit_month=4)
    url = f"http://127.0.0.1:{refused_port()}/v3"
    env = environment(settings, KOLADA_BASE_URL=url, IFO_KOLADA_DEADLINE_SECONDS="10")
    run = ifo("run", env=env)
    assert run.returncode == 1
    out = run.stdout + run.stderr
    assert "Traceback" not in out
    paragraph = run.stderr.strip()
    assert "The finance marts were published" in paragraph
    assert url in paragraph and "ConnectionError" in paragraph
    assert "from 2020-09-15 02:00 UTC" in paragraph  # the last good fetch
    assert "--offline" in paragraph
    # Published: the same marts as the offline reference (Kolada's from the last good fetch).
    assert marts(settings.published_path) == reference[1]
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        runs = con.execute(
            """SELECT job, outcome, published, epoch(finished_at - started_at)
               FROM ops.runs ORDER BY started_at"""
        ).fetchall()
    # The finance job twice (the months' loads, then the marts, published), then Kolada.
    assert [r[:3] for r in runs] == [
        ("ifo_all", "succeeded", False),
        ("ifo_all", "succeeded", True),
        ("kolada", "failed", False),
    ]
    assert runs[-1][3] < 10 + 15  # gave up within the deadline (and the run's start-up)
    assert not list((settings.landing_dir / "kolada").glob("*.partial"))
    status = ifo("status", env=env)
    assert status.returncode == 1
    assert "the last kolada run failed" in status.stdout
    assert "Kolada: last good fetch fetch_20200915T020000Z" in status.stdout


# Each stop: the signal, what the run's log must show first (None: from the start), and how
# long after that to send it. Markers, not clocks: a run's phases move with the machine's load.
DBT_STARTED = "Running dbt command"
A_FILE_LOADED = "ifo_pipeline.ingest.csv_loader: ledger/"  # the first ledger file is in


@pytest.mark.parametrize(
    "signals",
    [
        # During the start (imports), then twice in the middle of dbt.
        [
            (signal.SIGINT, None, 3.0),
            (signal.SIGTERM, DBT_STARTED, 1.0),
            (signal.SIGINT, DBT_STARTED, 0.0),
        ],
        # While the months' files load, then during dbt.
        [(signal.SIGTERM, A_FILE_LOADED, 0.0), (signal.SIGINT, DBT_STARTED, 2.0)],
    ],
    ids=["int-term-int", "term-int"],
)
def test_an_interrupted_run_stops_within_seconds_and_the_next_run_publishes_the_same(
    reference, tmp_path, signals
):
    settings = Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=tmp_path / "landing")
    generate_sample(settings.landing_dir, rows_per_unit_month=4)
    env = environment(settings)
    run_log = settings.warehouse_dir / "logs" / "last_run.log"
    stopped = 0
    for sig, marker, after in signals:
        # Output to files, not pipes: a dbt child still flushing must not keep a pipe open.
        out_path, err_path = tmp_path / "out", tmp_path / "err"
        run_log.unlink(missing_ok=True)
        with out_path.open("w") as out_file, err_path.open("w") as err_file:
            process = subprocess.Popen(
                [IFO, "run", "--offline"], env=env, stdout=out_file, stderr=err_file
            )
            if marker:
                wait_for(marker, run_log, process)
            time.sleep(after)
            sent = time.monotonic()
            process.send_signal(sig)
            process.wait(timeout=60)
        # Within seconds; a dbt build in mid-query is given time to end it (16 s seen on a
        # loaded 2-core machine), so the bound is half a minute.
        assert time.monotonic() - sent < 30, "stopped within half a minute"
        out, err = out_path.read_text(), err_path.read_text()
        assert "Traceback" not in out + err
        if process.returncode == 130:
            stopped += 1
            assert "was stopped" in err and "Run ifo run again" in err
        else:  # it had finished before the signal came
            assert process.returncode == 0, err
        assert not list(settings.warehouse_dir.glob(".ifo.duckdb.*.tmp"))
    assert stopped >= 1
    final = ifo("run", "--offline", env=env)
    assert final.returncode == 0, final.stderr
    assert marts(settings.published_path) == reference[1]
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        outcomes = [r[0] for r in con.execute("SELECT outcome FROM ops.runs").fetchall()]
    # A run stopped once its Dagster run had begun says so; none is left 'running'.
    assert 1 <= outcomes.count("interrupted") <= stopped and "running" not in outcomes


def wait_for(marker: str, log: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until the run's log shows `marker` (or the run has ended, or the time is up)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if log.exists() and marker in log.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.05)


def test_a_run_with_nothing_new_rebuilds_nothing(reference):
    settings, expected = reference
    before = settings.published_path.stat().st_mtime_ns
    again = ifo("run", "--offline", env=environment(settings))
    assert again.returncode == 0, again.stderr
    assert "Nothing new has landed" in again.stdout
    assert settings.published_path.stat().st_mtime_ns == before
    # Told before Dagster is imported: a night with nothing new costs the landing scan only.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ifo_pipeline.runner import run_pipeline; "
            "from ifo_pipeline.settings import Settings; "
            "print(run_pipeline(Settings.from_env(), offline=True).success, "
            "'dagster' in sys.modules)",
        ],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.stdout.split() == ["True", "False"], probe.stderr
    status = ifo("status", env=environment(settings))
    assert status.returncode == 0, status.stdout  # a historical sample needs no one
    assert "a historical extract" in status.stdout and "All is well." in status.stdout


def test_a_refused_file_publishes_the_rest_and_status_names_it_until_redelivered(
    reference, tmp_path
):
    settings = Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=tmp_path / "landing")
    generate_sample(settings.landing_dir, rows_per_unit_month=2)
    (settings.landing_dir / "ledger" / "trasig.csv").write_bytes(b"Period;Ansvar\n\x81\x8d\n")
    env = environment(settings)
    run = ifo("run", "--offline", env=env)
    assert run.returncode == 1  # a person must re-deliver the file
    assert "marts published to" in run.stdout
    assert "1 landed file(s) were refused whole: ledger/trasig.csv, line 2" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    status = ifo("status", env=env)
    assert status.returncode == 1
    assert "REFUSED: 1 file(s)" in status.stdout and "ledger/trasig.csv" in status.stdout
    # The next night has nothing new, but the refusal is remembered until it is re-delivered.
    assert ifo("run", "--offline", env=env).returncode == 0
    status = ifo("status", env=env)
    assert status.returncode == 1 and "ledger/trasig.csv" in status.stdout
    (settings.landing_dir / "ledger" / "trasig.csv").write_bytes(
        b"Period;Ansvar;Konto;Verksamhet;Belopp\n201903;5310;4630;56910;1,00\n"
    )
    assert ifo("run", "--offline", env=env).returncode == 0
    assert "ledger/trasig.csv" not in ifo("status", env=env).stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["report", "--month", "garbage"], "is not YYYY-MM"),
        (["report", "--month", "2019-13"], "months 01-12"),
        (["report", "--month", "2019-03-01"], "is not YYYY-MM"),
        (["report", "--month", "2019-01:2019-03"], "is not one month"),
        (["run", "--months", "2019-03:2019-01"], "first before last"),
        (["sample", "--rows", "-1"], "not a whole number above 0"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_a_mistaken_argument_gets_a_message_that_shows_the_valid_form(reference, args, words):
    settings, _ = reference
    mistake = ifo(*args, env=environment(settings))
    assert mistake.returncode == 2
    assert words in mistake.stderr and "Traceback" not in mistake.stderr


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("IFO_LEDGER_DUE_DAY", "40", "IFO_LEDGER_DUE_DAY=40 must be a day of the month"),
        ("IFO_LEDGER_DUE_DAY", "tio", "IFO_LEDGER_DUE_DAY='tio' is not a int"),
        ("IFO_NIGHTLY_CRON", "every night", "IFO_NIGHTLY_CRON='every night' is not a cron"),
        ("IFO_FIRST_MONTH", "2015", "IFO_FIRST_MONTH='2015' must be YYYY-MM"),
        ("IFO_REPLACEMENT_WARNING_SHARE", "50", "must be a share above 0 and at most 1"),
        ("KOLADA_BASE_URL", "api.kolada.se", "must be an http(s) URL"),
    ],
)
def test_a_wrong_setting_is_refused_at_start_naming_the_variable(reference, variable, value, words):
    settings, _ = reference
    refused = ifo("status", env=environment(settings, **{variable: value}))
    assert refused.returncode == 2
    assert words in refused.stderr and "Traceback" not in refused.stderr


def test_without_a_warehouse_setting_ifo_finds_one_or_refuses(reference, tmp_path):
    settings, _ = reference
    env = environment(settings)
    del env["IFO_WAREHOUSE_DIR"], env["IFO_LANDING_DIR"]
    # Anywhere without a warehouse: refused, and nothing made.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = ifo("run", "--offline", env=env, cwd=elsewhere)
    assert refused.returncode == 2 and "IFO_WAREHOUSE_DIR" in refused.stderr
    assert list(elsewhere.iterdir()) == []
    # Below a directory holding a warehouse/: found, the way git finds a repository.
    deep = settings.warehouse_dir.parent / "reports" / "2019"
    deep.mkdir(parents=True, exist_ok=True)
    found = ifo("status", env=env, cwd=deep)
    assert f"Warehouse: {settings.warehouse_path}" in found.stdout


def test_a_warehouse_setting_that_cannot_be_right_is_refused_and_nothing_is_made(
    reference, tmp_path
):
    """Issue: IFO_WAREHOUSE_DIR naming a file ended in "failed unexpectedly"; a mistyped one
    made an empty warehouse, published empty marts, and `ifo status` said all was well."""
    settings, _ = reference
    a_file = tmp_path / "ifo.duckdb"
    a_file.write_bytes(b"")
    env = environment(settings, IFO_WAREHOUSE_DIR=str(a_file))
    for command in (["status"], ["run", "--offline"]):
        refused = ifo(*command, env=env)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "is a file, not a directory" in refused.stderr
        assert "Traceback" not in refused.stdout + refused.stderr
    mistyped = tmp_path / "warehuose"
    env = environment(settings, IFO_WAREHOUSE_DIR=str(mistyped))
    del env["IFO_LANDING_DIR"]
    run = ifo("run", "--offline", env=env)
    assert run.returncode == 1
    assert "nothing has landed" in run.stderr and "is the path right" in run.stderr
    assert not (mistyped / "ifo.duckdb").exists()
    status = ifo("status", env=env)
    assert status.returncode == 1 and "nothing has run yet" in status.stdout


def test_every_setting_reaches_the_dagster_definitions_as_the_cli_sees_it(tmp_path):
    env = {
        "IFO_WAREHOUSE_DIR": str(tmp_path / "w"),
        "IFO_LANDING_DIR": str(tmp_path / "l"),
        "KOLADA_BASE_URL": "http://127.0.0.1:9/v3",
        "IFO_NIGHTLY_CRON": "15 3 * * *",
        "IFO_KOLADA_CRON": "45 2 * * 1-5",
        "IFO_KOLADA_DEADLINE_SECONDS": "90",
        "IFO_LEDGER_DUE_DAY": "12",
        "IFO_FIRST_MONTH": "2018-01",
        "IFO_REPLACEMENT_WARNING_SHARE": "0.25",
    }
    assert set(ENV_NAMES.values()) <= set(env)  # every variable is set here
    cli = Settings.from_env(env)
    assert cli.ledger_due_day == 12 and cli.replacement_warning_share == 0.25
    defs = build_definitions(cli)
    resource = defs.resources["warehouse"]
    assert resource.settings == cli
    assert defs.resolve_schedule_def("nightly").cron_schedule == "15 3 * * *"
    assert defs.resolve_schedule_def("kolada_nightly").cron_schedule == "45 2 * * 1-5"
    assert {f.name for f in dataclasses.fields(Settings)} == {
        "warehouse_dir",
        "landing_dir",
        "municipality",  # set per municipality of a region (its folder), not by a variable
        *ENV_NAMES,
    }
    with pytest.raises(SettingsError, match="IFO_KOLADA_CRON"):
        Settings.from_env({**env, "IFO_KOLADA_CRON": "61 * * * *"})


def test_the_sample_writes_only_its_own_files_the_same_bytes_every_time(tmp_path):
    landing = tmp_path / "landing"
    generate_sample(landing, rows_per_unit_month=2)
    own = landing / "ledger" / "huvudbok_2020_egen.csv"
    own.write_text("a municipality's own export\n")
    os.utime(own, ns=(5, 5))
    first = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in landing.rglob("*") if p.is_file()}
    time.sleep(1.1)  # a second later: any time stamp written now would differ
    generate_sample(landing, rows_per_unit_month=2)
    second = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in landing.rglob("*") if p.is_file()}
    assert second == first
    assert own.stat().st_mtime_ns == 5


def test_dbt_writes_its_target_and_logs_under_the_warehouse(reference):
    settings, _ = reference
    assert (settings.warehouse_dir / "dbt" / "target" / "manifest.json").exists()
    assert any((settings.warehouse_dir / "dbt" / "target").glob("*/run_results.json"))
    assert any((settings.warehouse_dir / "dbt" / "target").glob("*/dbt.log"))


def test_a_stop_that_python_wraps_in_a_class_definition_is_still_a_stop():
    """A Ctrl-C that lands while a slow import defines a class reaches us as 'RuntimeError:
    Error calling __set_name__' (Python 3.11), with the KeyboardInterrupt as its cause."""
    from ifo_pipeline.stopping import is_stop

    class Field:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    try:
        type("Result", (), {"return_val": Field()})
    except RuntimeError as wrapped:
        assert "__set_name__" in str(wrapped) or wrapped.__cause__ is not None
        assert is_stop(wrapped)
    except KeyboardInterrupt:  # a Python that does not wrap it: a stop as it is
        pass
    assert not is_stop(RuntimeError("Error calling __set_name__ on a field: a real defect"))


def test_a_reader_that_stops_early_is_not_a_crash(demo):
    """`ifo report | head -3`: the pipe closes under the report, which is not a failure."""
    settings, _ = demo
    done = subprocess.run(
        f"'{IFO}' report --month 2019-03 | head -3; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert "unexpectedly" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("cron", "valid"),
    [
        ("0 2 * * *", True),
        ("45 2 * * 1-5", True),
        ("0 2 * * mon-fri", True),
        ("@daily", True),
        ("0 0 2 * * *", False),  # seconds: Dagster's schedules take five fields
        ("0 2 30 2 *", False),  # a day that never comes
        ("*/0 * * * *", False),
        ("61 * * * *", False),
    ],
)
def test_a_cron_setting_is_accepted_exactly_when_dagsters_schedule_takes_it(cron, valid):
    import dagster as dg

    @dg.op
    def nothing() -> None: ...

    @dg.job
    def night() -> None:
        nothing()

    assert is_cron(cron) is valid
    try:
        dg.ScheduleDefinition(job=night, cron_schedule=cron)
        dagster_takes_it = True
    except Exception:
        dagster_takes_it = False
    assert dagster_takes_it is valid
