"""The results of a run: per-operation table, CPU use and the booking count check."""

import math
import os
from pathlib import Path
from typing import Any

from loadtest.client import Recorder
from loadtest.operations import REPORT_ORDER
from loadtest.processes import CpuUse


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def operation_rows(recorder: Recorder, wall: float) -> list[dict[str, Any]]:
    rows = []
    for name in REPORT_ORDER:
        stats = recorder.stats(name)
        latencies = sorted(stats.latencies)
        # A request without a response (transport error) has no latency but counts as sent.
        transport = sum(
            n for kind, n in stats.unexpected_errors.items() if kind.startswith("transport")
        )
        requests = len(latencies) + transport
        rows.append(
            {
                "operation": name,
                "requests": requests,
                "per_second": requests / wall,
                "p50_ms": percentile(latencies, 0.50) * 1000,
                "p99_ms": percentile(latencies, 0.99) * 1000,
                "expected_errors": dict(stats.expected_errors),
                "unexpected_errors": dict(stats.unexpected_errors),
            }
        )
    return rows


def format_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(errors.items())) or "0"


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| operation | requests | req/s | p50 ms | p99 ms | expected errors | unexpected errors |"
    )
    print("|---|---:|---:|---:|---:|---|---|")
    for row in rows:
        # Operations left out of the mix with --only.
        if not row["requests"] and not row["unexpected_errors"]:
            continue
        print(
            f"| {row['operation']} | {row['requests']:,} | {row['per_second']:.1f} | "
            f"{row['p50_ms']:.0f} | {row['p99_ms']:.0f} | "
            f"{format_errors(row['expected_errors'])} | {format_errors(row['unexpected_errors'])} |"
        )


def print_summary(
    backend: str, clients: int, how: str, rows: list[dict[str, Any]], cpu: CpuUse
) -> dict[str, Any]:
    http_rows = [row for row in rows if row["operation"] != "export (end to end)"]
    requests = sum(row["requests"] for row in http_rows)
    summary = {
        "backend": backend,
        "servers": how,
        "clients": clients,
        "seconds": cpu.wall,
        "requests": requests,
        "per_second": requests / cpu.wall,
        "client_cpu_percent": 100 * cpu.client / cpu.wall,
        "server_cpu_ms_per_request": 1000 * cpu.servers / max(requests, 1),
        "server_cpu_percent": 100 * cpu.servers / cpu.wall,
        "database_cpu_percent": 100 * cpu.database / cpu.wall,
        "database_cpu_ms_per_request": 1000 * cpu.database / max(requests, 1),
        "other_cpu_percent": 100
        * (cpu.machine_busy - cpu.client - cpu.servers - cpu.database)
        / cpu.wall,
        "machine_busy_percent": 100 * cpu.machine_busy / max(cpu.machine_total, 1e-9),
    }
    print(
        f"\n{backend}, {how}, {clients} clients, {cpu.wall:.1f} s: "
        f"{requests:,} requests, {summary['per_second']:.1f} requests/s"
    )
    print(
        f"CPU, in % of one core: load client {summary['client_cpu_percent']:.0f}%, servers "
        f"{summary['server_cpu_percent']:.0f}% ({summary['server_cpu_ms_per_request']:.1f} ms per "
        f"request, export jobs included), PostgreSQL backends "
        f"{summary['database_cpu_percent']:.0f}% ({summary['database_cpu_ms_per_request']:.1f} ms "
        f"per request), other processes on the machine "
        f"{summary['other_cpu_percent']:.0f}%; the machine's {os.cpu_count()} cores were "
        f"{summary['machine_busy_percent']:.0f}% busy\n"
    )
    return summary


def server_log_errors(log_files: list[Path], limit: int = 20) -> list[str]:
    """Return the last ERROR lines of the server logs, to explain unexpected errors."""
    lines = []
    for log_file in log_files:
        text = log_file.read_text(encoding="utf-8", errors="replace")
        lines += [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
    return lines[-limit:]


def booking_check(requested: int, seeded: int, recorder: Recorder, counted: int) -> dict[str, Any]:
    expected = seeded + recorder.bookings_created
    passed = seeded == requested and counted == expected and recorder.bookings_unknown == 0
    message = (
        f"Bookings: {seeded:,} seeded + {recorder.bookings_created:,} created = {expected:,}; "
        f"the database has {counted:,}: {'OK' if passed else 'MISMATCH'}"
    )
    if recorder.bookings_unknown:
        message += f" ({recorder.bookings_unknown} createBooking requests got no answer)"
    return {
        "seeded": seeded,
        "created": recorder.bookings_created,
        "unknown": recorder.bookings_unknown,
        "counted": counted,
        "passed": passed,
        "message": message,
    }
