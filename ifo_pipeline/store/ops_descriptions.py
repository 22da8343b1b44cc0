"""What the ops tables say, in Swedish, for the controllers who read them in ifo.duckdb.

`warehouse.connect` writes them as table and column comments (DuckDB's COMMENT ON); publishing
copies them with the tables. A test fails when an ops table or column has none.
"""

from __future__ import annotations

OPS_DESCRIPTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "ops.load_log": (
        "Inläsningsloggen: en rad per levererad fil och utfall (inläst, inläst med avvisade "
        "rader, avvisad, redan inläst, månad inläst på nytt ur arkivet). Filen identifieras av "
        "sin SHA-256: samma innehåll läses aldrig in två gånger.",
        {
            "load_id": "Löpnummer för inläsningen (stigande i tid).",
            "file_sha256": "Den levererade filens SHA-256: dess identitet.",
            "file_name": "Filens namn (personnummer i namnet maskerade).",
            "source": "Källa: ledger (huvudbok), budget, forecasts (prognos), reports, "
            "report_structure, column_map, cost_kinds (kostnadsslag), volumes "
            "(verksamhetsmått) eller kolada.",
            "archived_as": "Sökväg till den maskerade kopian i arkivet, som en månad läses om "
            "ifrån.",
            "archived_sha256": "Den arkiverade (maskerade) kopians SHA-256.",
            "size_bytes": "Filens storlek i byte.",
            "encoding": "Teckenkodning som filen lästes med (utf-8, utf-8-sig, cp1252).",
            "periods": "Månaderna (ÅÅÅÅMM, kommaseparerade) som filen levererade eller som "
            "lästes om.",
            "rows_loaded": "Antal inlästa rader.",
            "rows_rejected": "Antal avvisade rader (se ops.rejects).",
            "outcome": "Utfall: loaded, loaded_with_rejects, rejected, already_loaded, "
            "reloaded, no_file.",
            "message": "Vad som hände, i klartext (för en avvisad fil: fil, rad och orsak).",
            "loaded_at": "När inläsningen gjordes.",
        },
    ),
    "ops.rejects": (
        "Avvisade rader och filer: ingenting försvinner. Varje rad som inte kunde läsas in "
        "finns här med fil, radnummer, raden som den skrevs (maskerad) och orsaken.",
        {
            "file_sha256": "Filens SHA-256 (som i ops.load_log).",
            "file_name": "Filens namn.",
            "source": "Källa (som i ops.load_log).",
            "line_number": "Radnummer i filen (rubrikraden är rad 1); tomt när hela filen "
            "avvisades utan att en rad kan pekas ut.",
            "raw": "Raden som den stod i filen, med personnummer maskerade.",
            "reason": "Orsaken, i klartext.",
            "amount": "Radens belopp när det gick att läsa (så att avstämningen går jämnt ut).",
            "rejected_at": "När raden avvisades.",
            "period": "Radens månad (ÅÅÅÅMM) när den har en läsbar månad.",
        },
    ),
    "ops.reconciliation": (
        "Avstämning per fil, på öret: filens summa = inläst + avvisat, och exportens "
        "kontrollsumma (totalraden) mot raderna.",
        {
            "file_sha256": "Filens SHA-256.",
            "file_name": "Filens namn.",
            "rows_in_file": "Antal datarader i filen (totalraden oräknad).",
            "amount_in_file": "Summan av filens belopp, kronor.",
            "loaded_sum": "Summan av de inlästa radernas belopp.",
            "rejected_sum": "Summan av de avvisade radernas belopp.",
            "difference": "amount_in_file − loaded_sum − rejected_sum: ska vara 0.",
            "control_sum": "Exportens egen totalrad, när filen har en.",
            "control_difference": "control_sum − amount_in_file.",
            "unreadable_amount_rows": "Rader vars belopp inte gick att läsa (de saknas i "
            "summorna: skillnaden mot totalraden är deras).",
            "balanced": "Sant när filen går jämnt ut på öret.",
            "checked_at": "När avstämningen gjordes.",
        },
    ),
    "ops.replacements": (
        "Ersättningar: när en ny leverans ersätter en period, ett år eller hela tabellen, "
        "antal rader och nettobelopp före och efter. En stor minskning varnas för.",
        {
            "file_sha256": "Den ersättande filens SHA-256.",
            "file_name": "Den ersättande filens namn.",
            "source": "Källa.",
            "replaced_key": "Vad som ersattes: en period ÅÅÅÅMM, ett år eller 'hela tabellen'.",
            "rows_before": "Antal rader före.",
            "rows_after": "Antal rader efter.",
            "amount_before": "Nettobelopp före, kronor.",
            "amount_after": "Nettobelopp efter, kronor.",
            "replaced_at": "När ersättningen gjordes.",
        },
    ),
    "ops.runs": (
        "Körningar: en rad per körning av pipelinen (ifo run, nattkörningen, Dagster-"
        "gränssnittet), med utfall och om marts publicerades.",
        {
            "run_id": "Dagsters körnings-id.",
            "job": "Jobbet: ifo_all (ekonomi) eller kolada.",
            "started_at": "När körningen startade.",
            "finished_at": "När den slutade (tomt medan den pågår).",
            "outcome": "Utfall: running, succeeded, failed, interrupted.",
            "published": "Sant när körningen publicerade ifo.duckdb.",
            "months": "Månaderna körningen gällde (ÅÅÅÅ-MM..ÅÅÅÅ-MM), när den gällde månader.",
            "message": "Vad som gick fel eller varnades för, i klartext.",
        },
    ),
    "ops.volume_changes": (
        "Rättade verksamhetsmått: när en ny leverans ändrar ett redan inläst värde, det gamla "
        "och det nya värdet.",
        {
            "ar": "År.",
            "manad": "Månad 1–12.",
            "avsnitt": "Avsnitt i månadsrapporten (t.ex. Barn och unga).",
            "matt": "Måttet som det levererades.",
            "matt_id": "Måttets id i måttkatalogen.",
            "old_text": "Det tidigare värdet, som det stod i cellen.",
            "new_text": "Det nya värdet.",
            "old_file_sha256": "Filen som levererade det tidigare värdet.",
            "new_file_sha256": "Filen som levererade det nya värdet.",
            "changed_at": "När ändringen lästes in.",
        },
    ),
}


def comment_statements() -> list[str]:
    """COMMENT ON statements for every ops table and column."""
    statements = []
    for table, (description, columns) in OPS_DESCRIPTIONS.items():
        statements.append(f"COMMENT ON TABLE {table} IS {_quote(description)}")
        statements += [
            f"COMMENT ON COLUMN {table}.{column} IS {_quote(text)}"
            for column, text in columns.items()
        ]
    return statements


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
