"""Finds the passages nearest to a question."""
from app.answers import Passage
from index.embeddings import Embedder
from index.store import ChunkStore


class Retriever:
    def __init__(self, store: ChunkStore, embedder: Embedder, k: int = 5):
        self.store, self.embedder, self.k = store, embedder, k

    def search(self, question: str, k: int | None = None, sources: list[str] | None = None) -> list[Passage]:
        """The passages nearest the question; only of the named documents when sources is given."""
        vector = self.embedder.query_vector(question).tolist()
        return [Passage(chunk, score) for chunk, score in self.store.search(vector, k or self.k, sources)]
