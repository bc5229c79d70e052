"""Soak report: gather history, faults and verdicts into one dict; print it as a table."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import _harness as h
from benchmarks import _soak_check as check
from benchmarks import _soak_sources as src


def build_report(config: Any, loader: Any, specs: list[src.TableSpec], src_conninfo: str,
                 driver: dict[str, Any], faults: Any, workers: Any, monitor: Any,
                 escaped_file: Path, loaded: set[str], changes_s: float,
                 drain_s: float, secrets: list[str]) -> dict[str, Any]:
    """Everything the soak measured (the JSON of ``--json``).

    ``secrets``: the passwords in play; every log of a soak process in the directory of
    ``escaped_file`` (and that file) is searched for them.
    """
    from dataloader_sdk.model import TargetName

    runs = loader.store.runs(None, limit=10_000_000)
    by_status = Counter(r.status for r in runs)
    failed = Counter(r.error_class or "?" for r in runs if r.status == "failed")
    failed_examples: dict[str, str] = {}
    for r in sorted(runs, key=lambda r: r.started_at):
        if r.status == "failed":
            failed_examples.setdefault(r.error_class or "?", (r.error_message or "")[:400])
    spans: dict[str, list[tuple[float, float]]] = {}
    for r in runs:
        if r.status == "succeeded" and r.finished_at is not None:
            spans.setdefault(r.table, []).append(
                (r.started_at.timestamp(), r.finished_at.timestamp()))
    stale = check.staleness(driver["changes"], spans)
    verdicts = []
    for spec in specs:
        uri = loader.engine.uri(TargetName("soak", spec.name))
        verdicts.append(check.compare(spec, check.read_source(spec, src_conninfo),
                                      check.read_target(uri, spec)))
    escaped: Counter[str] = Counter()
    examples: dict[str, str] = {}
    if escaped_file.exists():
        for line in escaped_file.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            escaped[event["class"]] += 1
            examples.setdefault(event["class"], event["message"][:300])
    leaks = [f"{p.name} holds a password" for p in sorted(escaped_file.parent.iterdir())
             if p.suffix in (".log", ".jsonl") and any(
                 s in p.read_text(encoding="utf-8", errors="replace") for s in secrets)]
    lost = sum(v.lost for v in verdicts)
    dup = sum(v.duplicated for v in verdicts)
    stale_rows = sum(v.stale for v in verdicts)
    fault_counts = {**faults.counts, **driver["faults"]}
    by_strategy = {
        s: {"tables": sum(v.strategy == s for v in verdicts),
            "ok": sum(v.strategy == s and v.ok for v in verdicts)}
        for s in src.STRATEGY_WEIGHTS
    }
    return {
        "config": asdict(config),
        "machine": {**h.machine(), "loadavg_end": os.getloadavg()},
        "seconds": {"changes": round(changes_s, 1), "drain": round(drain_s, 1)},
        "tables": {"configured": len(specs), "loaded_after_last_change": len(loaded),
                   "verified_ok": sum(v.ok for v in verdicts), "by_strategy": by_strategy,
                   "not_loaded": sorted({s.name for s in specs} - loaded)},
        "runs": {"total": len(runs), "by_status": dict(by_status),
                 "failed_by_error_class": dict(failed), "failed_examples": failed_examples,
                 "worst_table_history": _history(runs, stale.worst_table)},
        "changes": driver["counts"],
        "driver_errors": driver["errors"],
        "faults": fault_counts,
        "fault_injector_errors": faults.errors,
        "recovery": {"worker_restarts": workers.restarts, "worker_exits": workers.exits,
                     "monitor_failed_expired_leases": monitor.failed_stuck,
                     "operator_requeued": monitor.requeued,
                     "monitor_errors": monitor.errors,
                     "needs_attention_left": monitor.parked},
        "escaped_from_load_due": {"by_class": dict(escaped), "examples": examples},
        "rows": {"source": sum(v.source_rows for v in verdicts),
                 "target": sum(v.target_rows for v in verdicts),
                 "lost": lost, "duplicated": dup, "stale": stale_rows},
        "staleness_seconds": {"changes": stale.changes, "covered": stale.covered,
                              "worst": round(stale.worst_seconds, 2),
                              "p50": round(stale.p50_seconds, 2),
                              "p95": round(stale.p95_seconds, 2),
                              "worst_table": stale.worst_table},
        "secret_leaks": leaks,
        "problems": [asdict(v) for v in verdicts if not v.ok],
        "ok": lost == dup == stale_rows == 0 and len(loaded) == len(specs) and not leaks,
    }


def _history(runs: list[Any], table: str) -> list[str]:
    """One line per run of ``table``, oldest first (to explain its staleness)."""
    return [f"{r.started_at:%H:%M:%S.%f} {r.duration_seconds or 0:6.2f}s {r.status} "
            f"{r.error_class or ''} rows={r.rows_written}"
            for r in sorted((r for r in runs if r.table == table), key=lambda r: r.started_at)]


def print_report(r: dict[str, Any]) -> None:
    """The human-readable summary."""
    c, t, rows, st = r["config"], r["tables"], r["rows"], r["staleness_seconds"]
    m = r["machine"]
    print(f"\nsoak: {c['workers']} workers x {c['threads']} threads, {c['tables']} tables, "
          f"{c['minutes']:g} min of changes (+{r['seconds']['drain']:.0f}s drain), seed "
          f"{c['seed']}; {m['cpus']} CPUs, load at end {m['loadavg_end'][0]:.1f}")
    lines = [
        ("tables loaded after the last change", f"{t['loaded_after_last_change']}/"
                                                f"{t['configured']}"),
        ("tables verified equal to source", f"{t['verified_ok']}/{t['configured']}"),
        *((f"  {s}", f"{v['ok']}/{v['tables']}") for s, v in t["by_strategy"].items()),
        ("runs", f"{r['runs']['total']} {r['runs']['by_status']}"),
        *((f"  failed: {k}", str(v)) for k, v in r["runs"]["failed_by_error_class"].items()),
        ("source changes", f"{sum(r['changes'].values())} {r['changes']}"),
        *((f"fault: {k}", str(v)) for k, v in r["faults"].items()),
        ("worker restarts", str(r["recovery"]["worker_restarts"])),
        ("monitor: expired leases failed", str(r["recovery"]["monitor_failed_expired_leases"])),
        ("operator: requeued after source_missing", str(r["recovery"]["operator_requeued"])),
        ("needs_attention left", str(len(r["recovery"]["needs_attention_left"]))),
        *((f"escaped load_due: {k}", str(v))
          for k, v in r["escaped_from_load_due"]["by_class"].items()),
        ("rows source / target", f"{rows['source']} / {rows['target']}"),
        ("rows lost", str(rows["lost"])),
        ("rows duplicated", str(rows["duplicated"])),
        ("rows stale", str(rows["stale"])),
        ("logs holding a password", str(len(r["secret_leaks"]))),
        ("staleness worst / p95 / p50 (s)",
         f"{st['worst']} / {st['p95']} / {st['p50']} (worst: {st['worst_table']}, "
         f"{st['covered']}/{st['changes']} changes)"),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k:<{width}}  {v}")
    for p in r["problems"][:20]:
        print(f"PROBLEM {p['name']} ({p['strategy']}, {p['backend']}): lost {p['lost']} "
              f"duplicated {p['duplicated']} stale {p['stale']}; {p['example']}")
    print("OK" if r["ok"] else "FAILED")
