"""The report of a run: a Markdown section kept between two markers of docs/benchmarks.md, and a chart of the ratios.

Only the text between the markers is ever rewritten: the rest of the file holds the
hand-written sections of earlier issues and stays byte for byte as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from benchmarks.systems import Result, SuiteReport, number, say

BEGIN = "<!-- python -m benchmarks: begin -->"
END = "<!-- python -m benchmarks: end -->"
TITLE = "# Benchmarks"


@dataclass(frozen=True)
class Run:
    """What identifies a run: when, the exact command, and the machine."""

    date: str
    command: str
    machine: dict[str, str]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(results: list[Result]) -> list[str]:
    """A Markdown table of one suite; reference, target, latency and failure columns only where a result has them."""
    references = sorted({r.reference for r in results if r.postgres is not None})
    with_target = any(r.target is not None for r in results)
    with_latency = any(r.immusql_latency_ms is not None for r in results)
    with_failed = any(r.failed is not None for r in results)
    header = ["workload", "unit", "immusql"]
    if references:
        header += [references[0] if len(references) == 1 else "reference", "ratio"]
    if with_target:
        header += ["target", "met"]
    if with_latency:
        header += ["immusql latency ms", "PostgreSQL latency ms"]
    if with_failed:
        header += ["failed (immusql, all rounds)"]
    lines = [_row(header), _row(["---"] * len(header))]
    for r in results:
        cells = [r.workload, r.unit, number(r.immusql)]
        if references:
            if r.postgres is None:
                cells += ["", ""]
            else:
                cells += [number(r.postgres) + ("" if len(references) == 1 else f" ({r.reference})"), f"{r.ratio:.2f}"]
        if with_target:
            cells += ["", ""] if r.target is None else [r.target.text(r.unit), {True: "yes", False: "**no**", None: ""}[r.met]]
        if with_latency:
            cells += ["", ""] if r.immusql_latency_ms is None else [f"{r.immusql_latency_ms:.3f}", f"{r.postgres_latency_ms:.3f}"]
        if with_failed:
            cells.append("" if r.failed is None else str(r.failed))
        lines.append(_row(cells))
    return lines


def render(run: Run, suites: list[SuiteReport], chart_link: str | None) -> str:
    """The generated section (without the markers)."""
    results = [r for suite in suites for r in suite.results]
    judged = [r for r in results if r.met is not None]
    lines = [
        "## Latest run of `python -m benchmarks` (generated)",
        "",
        f"Run of {run.date}. Command:",
        "",
        "```",
        run.command,
        "```",
        "",
        "Machine:",
        "",
        *(f"- {name}: {value}" for name, value in run.machine.items()),
        "",
        f"Targets met: {sum(1 for r in judged if r.met)} of {len(judged)}. Ratios are immusql / the reference, higher is "
        "better for rates; a ratio target is met when the ratio of the medians reaches it.",
    ]
    for suite in suites:
        lines += ["", f"### {suite.title}", "", suite.description, "", *table(suite.results)]
    if chart_link:
        lines += ["", "### immusql / PostgreSQL", "", f"![immusql / PostgreSQL, per workload, with the targets]({chart_link})"]
    return "\n".join(lines) + "\n"


def insert_section(document: str, section: str) -> str:
    """``document`` with ``section`` between the markers: replaced if they are there, else inserted after the title line."""
    block = f"{BEGIN}\n{section.rstrip(chr(10))}\n{END}"
    begin, end = document.find(BEGIN), document.find(END)
    if begin >= 0 and end > begin:
        return document[:begin] + block + document[end + len(END):]
    if begin >= 0 or end >= 0:
        raise ValueError(f"only one of the markers {BEGIN!r} and {END!r}, or in the wrong order: fix the file by hand")
    if not document:
        return f"{TITLE}\n\n{block}\n"
    lines = document.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("# "):
            head = "".join(lines[: index + 1])
            if not head.endswith("\n"):
                head += "\n"
            return head + "\n" + block + "\n" + "".join(lines[index + 1:])
    return block + "\n\n" + document


def write_report(path: str, section: str) -> None:
    """Put ``section`` between the markers of the file at ``path`` (created with a title if missing)."""
    document = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8", newline="") as f:
            document = f.read()
    updated = insert_section(document, section)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(updated)


def charted(results: list[Result]) -> list[Result]:
    """The results the chart draws: immusql beside PostgreSQL over the wire."""
    return [r for r in results if r.charted and r.reference == "PostgreSQL" and r.ratio is not None]


def write_chart(results: list[Result], path: str) -> bool:
    """A horizontal bar chart of the immusql/PostgreSQL ratios, targets marked; False (with a notice) if it cannot be drawn."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        say("matplotlib is not installed (pip install 'immusql[bench]'): no chart")
        return False
    drawn = charted(results)
    if not drawn:
        say("no immusql/PostgreSQL ratio was measured: no chart")
        return False
    figure = Figure(figsize=(10, 1.6 + 0.32 * len(drawn)))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    rows = list(range(len(drawn)))[::-1]  # the first workload on top
    colours = {True: "#2e7d32", False: "#c62828", None: "#9e9e9e"}
    axes.barh(rows, [r.ratio for r in drawn], color=[colours[r.met] for r in drawn], height=0.7)
    for y, r in zip(rows, drawn):
        axes.text(r.ratio, y, f" {r.ratio:.2f}", va="center", fontsize=8)
        if r.target is not None and r.target.kind == "ratio":
            axes.plot([r.target.value] * 2, [y - 0.45, y + 0.45], color="black", linewidth=2)
    axes.axvline(1.0, color="#616161", linestyle="--", linewidth=1)
    axes.set_yticks(rows, [f"{r.suite}: {r.workload}" for r in drawn], fontsize=8)
    axes.set_xlabel("immusql / PostgreSQL (median of the rounds; higher is better)")
    axes.set_xlim(0, max(1.1, max(r.ratio for r in drawn) * 1.15))
    axes.legend(handles=[Line2D([], [], color="black", linewidth=2, label="target"),
                         Line2D([], [], color=colours[True], linewidth=6, label="target met"),
                         Line2D([], [], color=colours[False], linewidth=6, label="target not met"),
                         Line2D([], [], color=colours[None], linewidth=6, label="no target")],
                loc="lower left", bbox_to_anchor=(0, 1.01), ncol=4, frameon=False, fontsize=8)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=110)
    return True
