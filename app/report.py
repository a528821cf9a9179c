"""Evaluation output: the metrics table for the terminal and a self-contained HTML report with charts."""
import html
import io
from pathlib import Path

from app.evaluation import BREAKDOWN_METRICS, METRICS, SHARES, QuestionResult, breakdowns, losses, lost

NOT_RETRIEVED, PAST_5 = "not retrieved", "over 5"  # rank histogram buckets beside 1 to 5


def _cell(value) -> str:
    """A metric as shown: "–" for one with nothing to measure."""
    return "–" if value is None else f"{value:g}"


def format_table(summaries: dict[str, dict]) -> str:
    """Metrics down, configurations across."""
    names = list(summaries)
    width = max(len(m) for m in METRICS)
    columns = [max(len(n), 8) for n in names]
    lines = ["  ".join([" " * width, *(n.rjust(w) for n, w in zip(names, columns))])]
    for metric in ("questions", *METRICS):
        cells = [_cell(summaries[name].get(metric)).rjust(w) for name, w in zip(names, columns)]
        lines.append("  ".join([metric.ljust(width), *cells]))
    return "\n".join(lines)


def format_losses(runs: dict[str, list[QuestionResult]]) -> str:
    """Answerable questions by outcome, so a drop in accuracy shows which step lost it."""
    counted = {name: losses(results) for name, results in runs.items()}
    first = next(iter(counted.values()))
    if not sum(first.values()):
        return ""
    width = max(len(k) for k in first)
    lines = ["answerable questions by outcome:"]
    for outcome in first:
        cells = [f"{c[outcome]:>6}" for c in counted.values()]
        lines.append(f"  {outcome.ljust(width)}  {'  '.join(cells)}")
    return "\n".join(lines)


def format_breakdowns(breakdowns: dict[str, dict[str, dict[str, dict]]]) -> str:
    """Per configuration, a table per breakdown (language, question type): groups down, metrics across."""
    blocks = []
    for name, tables in breakdowns.items():
        for title, groups in tables.items():
            width = max([len("group"), *map(len, groups)])
            heading = f"by {title.replace('_', ' ')}" + (f" ({name})" if len(breakdowns) > 1 else "") + ":"
            lines = [heading, "  " + "  ".join(["group".ljust(width), *BREAKDOWN_METRICS])]
            for group, summary in groups.items():
                cells = [_cell(summary[m]).rjust(len(m)) for m in BREAKDOWN_METRICS]
                lines.append("  " + "  ".join([group.ljust(width), *cells]))
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()[buffer.getvalue().index("<svg"):]


def _rank_bucket(rank: int | None) -> str:
    return NOT_RETRIEVED if rank is None else str(rank) if rank <= 5 else PAST_5


def _charts(runs: dict[str, list[QuestionResult]], summaries: dict[str, dict]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    charts = []
    names = list(runs)
    width = 0.8 / len(names)
    # text stays text: labels can be searched and read at any zoom, and the file stays small
    with plt.rc_context({"svg.fonttype": "none", "figure.autolayout": True}):
        shares = [m for m in SHARES if any(s.get(m) is not None for s in summaries.values())]
        if shares:
            figure, axes = plt.subplots(figsize=(9, 0.5 + 0.32 * len(shares) * max(1.5, len(names) * 0.8)))
            for i, (name, summary) in enumerate(summaries.items()):
                y = [k + i * width for k in range(len(shares))]
                values = [summary.get(m) for m in shares]
                axes.barh(y, [np.nan if v is None else v for v in values], width, label=name)
                for yy, v in zip(y, values):
                    axes.text(0.005 if v is None else v + 0.005, yy, _cell(v), va="center", fontsize=7)
            axes.set_yticks([k + width * (len(names) - 1) / 2 for k in range(len(shares))], shares)
            axes.invert_yaxis()
            axes.set_xlim(0, 1.1)
            axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08 if len(shares) > 3 else -0.2),
                        ncol=max(1, min(len(names), 2)), frameon=False)
            charts.append(("Metrics per configuration (shares, 0 to 1)", _svg(figure)))
            plt.close(figure)

        ranked = {name: [r for r in results if r.checks_passages] for name, results in runs.items()}
        if any(ranked.values()):
            buckets = [str(k) for k in range(1, 6)]
            if any(r.rank and r.rank > 5 for results in ranked.values() for r in results):
                buckets.append(PAST_5)
            buckets.append(NOT_RETRIEVED)
            figure, axes = plt.subplots(figsize=(9, 3))
            for i, (name, results) in enumerate(ranked.items()):
                counts = [sum(_rank_bucket(r.rank) == b for r in results) for b in buckets]
                bars = axes.bar([x + i * width for x in range(len(buckets))], counts, width, label=name)
                axes.bar_label(bars, fontsize=7)
            axes.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(buckets))], buckets)
            axes.set_xlabel("rank of the first passage holding the expected text")
            axes.set_ylabel("questions")
            axes.legend(fontsize=8, frameon=False)
            charts.append(("Rank histogram", _svg(figure)))
            plt.close(figure)

        figure, axes = plt.subplots(figsize=(9, 3))
        axes.hist([[r.latency_ms for r in results] for results in runs.values()], bins=20, label=names)
        axes.set_xlabel("ms per question")
        axes.set_ylabel("questions")
        axes.legend(fontsize=8, frameon=False)
        charts.append(("Latency histogram", _svg(figure)))
        plt.close(figure)
    return charts


def _table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """An HTML table; the cells are escaped here."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(f"<tr class='{c}'>" + "".join(f"<td>{esc(str(cell))}</td>" for cell in row) + "</tr>"
                   for row, c in zip(rows, classes or [""] * len(rows)))
    return f"<table><tr>{head}</tr>{body}</table>"


def write_html(path: Path, question_file: Path, runs: dict[str, list[QuestionResult]],
               summaries: dict[str, dict]) -> None:
    """One HTML file, charts inline as SVG: it opens offline and can be mailed as it is."""
    esc = html.escape
    several = len(runs) > 1
    metrics = _table(["metric", *summaries],
                     [[m, *(_cell(s.get(m)) for s in summaries.values())] for m in ("questions", *METRICS)])
    groups = []
    for name, results in runs.items():
        for title, rows in breakdowns(results).items():
            caption = f"By {title.replace('_', ' ')}" + (f" ({name})" if several else "")
            groups.append(f"<h3>{esc(caption)}</h3>" + _table(
                ["group", *BREAKDOWN_METRICS], [[g, *(_cell(s[m]) for m in BREAKDOWN_METRICS)]
                                                for g, s in rows.items()]))
    missed = []
    for name, results in runs.items():
        rows = [[r.id, r.question, r.lang, r.qtype, "(abstained) " * r.abstained + r.answer,
                 (r.span + " (bold)" * r.bold) if r.span else "–",
                 r.expected, "–" if r.span_f1 is None else f"{r.span_em:.0f} / {r.span_f1:.2f}"]
                for r in lost(results)]
        missed.append((f"<h3>{esc(name)}</h3>" if several else "") + (
            f"<p>{len(rows)} of {sum(not r.expect_abstain for r in results)} answerable questions.</p>"
            + _table(["id", "question", "language", "type", "answer given", "exact answer given", "expected",
                      "EM / F1"], rows)
            if rows else "<p>None: every answerable question was answered correctly.</p>"))
    details = []
    for name, results in runs.items():
        rows = [[r.id, r.question, r.lang, r.qtype, r.answer, r.rank or "–",
                 "–" if r.answer_correct is None else r.answer_correct, f"{r.abstained}/{r.expect_abstain}",
                 f"{r.latency_ms:.0f}"] for r in results]
        bad = ["bad" if r.answer_correct is False or r.abstained != r.expect_abstain else "" for r in results]
        details.append(f"<h3>{esc(name)}</h3>" + _table(
            ["id", "question", "language", "type", "answer", "rank", "correct", "abstained/expected", "ms"],
            rows, bad))
    charts = "".join(f"<figure><figcaption>{esc(title)}</figcaption>{svg}</figure>"
                     for title, svg in _charts(runs, summaries))
    path.write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<title>Evaluation: {esc(str(question_file))}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}}tr.bad{{background:#fde2e2}}
figure{{margin:1em 0}}figcaption{{font-weight:bold;margin-bottom:.3em}}svg{{max-width:100%;height:auto}}
</style></head><body>
<h1>Evaluation of {esc(str(question_file))}</h1>
<h2>Metrics</h2>{metrics}
<h2>Where answers were lost</h2><pre>{esc(format_losses(runs))}</pre>
<h2>Breakdowns</h2>{''.join(groups)}
<h2>Charts</h2>{charts}
<h2>Lost questions</h2>{''.join(missed)}
<h2>Questions</h2>{''.join(details)}
</body></html>""", encoding="utf-8")
