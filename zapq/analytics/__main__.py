"""`python -m zapq.analytics summary --from 2026-12-01 --to 2026-12-07` (JSON on stdout), or `export`.

`summary` reads only the DuckDB file (DUCKDB_PATH); `export` appends what PostgreSQL staged,
as the `export_to_duckdb` actor does, for an operator who wants it now or rebuilds the file.
"""

from __future__ import annotations

import argparse
import json
import sys

from zapq.analytics.duckdb_file import FileBusy
from zapq.analytics.summary import InvalidParameter, parse_range, summarize
from zapq.settings import SettingsError, get_settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m zapq.analytics")
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="the per-day report, as JSON")
    summary.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: 6 days before --to)")
    summary.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today, São Paulo)")
    commands.add_parser("export", help="append what PostgreSQL staged to the DuckDB file, now")
    options = parser.parse_args(argv)
    try:
        settings = get_settings()
        if options.command == "summary":
            start, end = parse_range(options.start, options.end)
            report = summarize(settings.analytics_path, start, end, wait_s=settings.duckdb_lock_wait_s)
            print(json.dumps(report, indent=2, ensure_ascii=False))
            return 0
        return _export()
    except InvalidParameter as error:
        parser.error(f"--{error}")
    except (SettingsError, FileBusy) as error:
        print(f"zapq.analytics: {error}", file=sys.stderr)
    return 1


def _export() -> int:
    from zapq.analytics.exporter import export_pending, target_from_settings
    from zapq.db.connection import connect
    from zapq.runtime import boot

    settings = boot()
    with connect(settings.database_url) as connection:
        report = export_pending(connection, target_from_settings(settings))
    print(f"{report.outcome.value}: {report.turns} turn(s) in {report.batches} batch(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
