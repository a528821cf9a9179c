"""The plain LangChain tutorial pipeline on a question file, for comparison with the app's retrieval:
RecursiveCharacterTextSplitter(1000, 200), an embedding model, Chroma, top-k similarity search.
Prints the share of questions whose expected text is in a retrieved chunk (hit@1 and hit@k)."""
import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chromadb.config import Settings  # noqa: E402
from langchain_chroma import Chroma  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402
from tqdm import tqdm  # noqa: E402

from app.evaluation import load_questions  # noqa: E402
from index import embeddings  # noqa: E402
from index.text import fold  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--embeddings", default="sentence-transformers:all-MiniLM-L6-v2")
    parser.add_argument("-k", type=int, default=4)
    args = parser.parse_args()

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    documents = [Document(p.read_text(encoding="utf-8"), metadata={"source": p.name})
                 for p in sorted(args.docs.glob("*.txt"))]
    chunks = splitter.split_documents(documents)
    store = Chroma.from_documents(chunks, embeddings.get(args.embeddings),
                                  persist_directory=tempfile.mkdtemp(prefix="baseline-"),
                                  client_settings=Settings(anonymized_telemetry=False))
    questions = [q for q in load_questions(args.questions) if q.passage_contains]
    hits_1 = hits_k = 0
    for q in tqdm(questions, unit="question"):
        found = [fold(d.page_content) for d in store.similarity_search(q.question, k=args.k)]
        holds = [any(fold(n) in text for n in q.passage_contains) for text in found]
        hits_1 += bool(holds and holds[0])
        hits_k += any(holds)
    print(f"{args.embeddings}, {len(chunks)} chunks of 1000/200 characters: "
          f"hit@1 {hits_1 / len(questions):.3f}, hit@{args.k} {hits_k / len(questions):.3f} "
          f"over {len(questions)} questions")


if __name__ == "__main__":
    main()
