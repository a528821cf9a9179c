"""Evaluation output: the metrics table for the terminal and a self-contained HTML report with charts."""
import html
import io
from pathlib import Path

from app.evaluation import METRICS, QuestionResult, losses


def format_table(summaries: dict[str, dict]) -> str:
    """Metrics down, configurations across."""
    names = list(summaries)
    width = max(len(m) for m in METRICS)
    columns = [max(len(n), 8) for n in names]
    lines = ["  ".join([" " * width, *(n.rjust(w) for n, w in zip(names, columns))])]
    for metric in ("questions", *METRICS):
        cells = []
        for name, w in zip(names, columns):
            value = summaries[name].get(metric)
            cells.append(("–" if value is None else f"{value:g}").rjust(w))
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


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()[buffer.getvalue().index("<svg"):]


def _charts(runs: dict[str, list[QuestionResult]], summaries: dict[str, dict]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = []
    shares = [m for m in METRICS if not m.startswith("latency")]
    figure, axes = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / len(runs)
    for i, (name, summary) in enumerate(summaries.items()):
        values = [summary.get(m) or 0 for m in shares]
        axes.bar([x + i * width for x in range(len(shares))], values, width, label=name)
    axes.set_xticks([x + width * (len(runs) - 1) / 2 for x in range(len(shares))], shares, rotation=20)
    axes.set_ylim(0, 1.05)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.set_title("Metrics per configuration")
    charts.append(("Metrics per configuration", _svg(figure)))
    plt.close(figure)

    for title, value, label in (
            ("Rank of the first passage holding the expected text (0: not retrieved)",
             lambda r: r.rank or 0, "rank"),
            ("Latency per question", lambda r: r.latency_ms, "ms")):
        figure, axes = plt.subplots(figsize=(10, 3.2))
        for i, (name, results) in enumerate(runs.items()):
            shown = [r for r in results if label == "ms" or r.checks_passages]
            axes.bar([x + i * width for x in range(len(shown))], [value(r) for r in shown], width, label=name)
        axes.set_xlabel("question")
        axes.set_ylabel(label)
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes.set_title(title)
        charts.append((title, _svg(figure)))
        plt.close(figure)
    return charts


def write_html(path: Path, question_file: Path, runs: dict[str, list[QuestionResult]],
               summaries: dict[str, dict]) -> None:
    """One HTML file, charts inline as SVG: it opens offline and can be mailed as it is."""
    esc = html.escape
    head = "".join(f"<th>{esc(n)}</th>" for n in summaries)
    rows = "".join(
        f"<tr><td>{esc(m)}</td>" + "".join(
            f"<td>{'–' if s.get(m) is None else s[m]}</td>" for s in summaries.values()) + "</tr>"
        for m in ("questions", *METRICS))
    details = []
    for name, results in runs.items():
        lines = "".join(
            f"<tr class='{'bad' if r.answer_correct is False or r.abstained != r.expect_abstain else ''}'>"
            f"<td>{esc(r.id)}</td><td>{esc(r.question)}</td><td>{esc(r.answer)}</td>"
            f"<td>{r.rank or '–'}</td><td>{'' if r.answer_correct is None else r.answer_correct}</td>"
            f"<td>{r.abstained}/{r.expect_abstain}</td><td>{r.latency_ms:.0f}</td></tr>"
            for r in results)
        details.append(f"<h3>{esc(name)}</h3><table><tr><th>id</th><th>question</th><th>answer</th>"
                       f"<th>rank</th><th>correct</th><th>abstained/expected</th><th>ms</th></tr>"
                       f"{lines}</table>")
    charts = "".join(f"<figure>{svg}</figure>" for _, svg in _charts(runs, summaries))
    path.write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<title>Evaluation: {esc(str(question_file))}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}}tr.bad{{background:#fde2e2}}
figure{{margin:1em 0}}</style></head><body>
<h1>Evaluation of {esc(str(question_file))}</h1>
<h2>Metrics</h2><table><tr><th>metric</th>{head}</tr>{rows}</table>
<h2>Where answers were lost</h2><pre>{esc(format_losses(runs))}</pre>
<h2>Charts</h2>{charts}
<h2>Questions</h2>{''.join(details)}
</body></html>""", encoding="utf-8")
