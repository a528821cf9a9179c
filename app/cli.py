"""Command line: `serve` (the default), `ask`, `index`, `eval` and `xquad`."""
import argparse
import json
import os
import sys
from pathlib import Path

from app.config import Settings
from app.errors import AppError

COMMANDS = ("serve", "ask", "index", "eval", "xquad")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    defaults = Settings()
    common.add_argument("--docs", type=Path, default=defaults.docs,
                        help="folder of .txt and .md documents (default: %(default)s)")
    common.add_argument("--index-dir", type=Path, default=defaults.index_dir,
                        help="where the Chroma index lives (default: %(default)s)")
    common.add_argument("--chroma-url", default=os.environ.get("RAG_CHROMA_URL"),
                        help="use a Chroma server (`chroma run`) at this URL instead of --index-dir")
    common.add_argument("--embeddings", default=os.environ.get("RAG_EMBEDDINGS", defaults.embeddings),
                        help="e5-small (default) or sentence-transformers:<model name or local path>")
    common.add_argument("--top-k", type=int, default=defaults.top_k, help="passages to retrieve")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="python -m app",
                                     description="Question answering over documents, with cited passages.")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")

    serve = sub.add_parser("serve", parents=[common], help="start the chat in the browser (default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)

    ask = sub.add_parser("ask", parents=[common], help="answer questions on the command line")
    ask.add_argument("questions", nargs="+", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")

    index = sub.add_parser("index", parents=[common], help="build or update the index")
    index.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="files or folders inside --docs to index (default: all of --docs)")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(docs=args.docs, index_dir=args.index_dir, chroma_url=args.chroma_url,
                    embeddings=args.embeddings, top_k=args.top_k)


def _open(args: argparse.Namespace):
    from app.pipeline import Pipeline

    pipeline = Pipeline(settings_from(args))
    report = pipeline.index(progress=sys.stderr.isatty() or args.command != "ask")
    if report.added or report.updated or report.removed or report.skipped:
        print(f"Index: {report.summary()}", file=sys.stderr)
    return pipeline


def print_answer(answer) -> None:
    print(f"Q: {answer.question}\nA: {answer.text}")
    for c in answer.citations:
        chunk = c.passage.chunk
        print(f"[{c.n}] {chunk.source}, characters {chunk.start}-{chunk.end} (score {c.passage.score:.3f})")
        print("    " + chunk.text.replace("\n", "\n    "))
    print()


def cmd_ask(args) -> int:
    pipeline, failed = _open(args), 0
    for question in args.questions:
        try:
            answer = pipeline.ask(question)
        except AppError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
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


def cmd_serve(args) -> int:
    from app import ui

    pipeline = _open(args)
    ui.serve(pipeline, args.host, args.port)
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
    except KeyboardInterrupt:
        return 130
