"""Signed-in users' conversations, kept on the server in SQLite beside the index: each user sees only their own."""
import json
import secrets
import sqlite3
from contextlib import closing
from pathlib import Path

MAX_CONVERSATIONS = 200  # per user; the oldest go first


class ConversationStore:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS conversations (user TEXT NOT NULL, id TEXT NOT NULL, "
                       "title TEXT NOT NULL, updated TEXT NOT NULL, answers TEXT NOT NULL, PRIMARY KEY (user, id))")
            db.execute("CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT OR IGNORE INTO keys VALUES ('browser', ?)", (secrets.token_urlsafe(24),))

    def browser_key(self) -> str:
        """The key that conversations kept in browsers are encrypted with: made once, so that they can still be
        read after a restart."""
        with closing(self._connect()) as db:
            return db.execute("SELECT value FROM keys WHERE name = 'browser'").fetchone()[0]

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def conversations(self, user: str) -> list[dict]:
        """The user's conversations, the latest first, without their answers: {"id", "title", "updated"}."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT id, title, updated FROM conversations WHERE user = ? ORDER BY updated DESC",
                              (user,)).fetchall()
        return [{"id": id_, "title": title, "updated": updated} for id_, title, updated in rows]

    def get(self, user: str, conversation_id: str) -> dict | None:
        """{"id", "title", "updated", "answers": [answer records]}, or None when the user has no such one."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT id, title, updated, answers FROM conversations WHERE user = ? AND id = ?",
                             (user, conversation_id)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "title": row[1], "updated": row[2], "answers": json.loads(row[3])}

    def save(self, user: str, conversation: dict) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO conversations VALUES (?, ?, ?, ?, ?)",
                       (user, conversation["id"], conversation["title"], conversation["updated"],
                        json.dumps(conversation["answers"], ensure_ascii=False)))
            db.execute("DELETE FROM conversations WHERE user = ? AND id NOT IN (SELECT id FROM conversations "
                       "WHERE user = ? ORDER BY updated DESC LIMIT ?)", (user, user, MAX_CONVERSATIONS))

    def dump(self) -> list[dict]:
        """Every user's conversations, for an export: [{"user", "id", "title", "updated", "answers"}]."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT user, id, title, updated, answers FROM conversations").fetchall()
        return [{"user": user, "id": id_, "title": title, "updated": updated, "answers": json.loads(answers)}
                for user, id_, title, updated, answers in rows]

    def load(self, conversations: list[dict]) -> int:
        """Adds conversations that dump wrote, keeping those already here; how many were added."""
        with closing(self._connect()) as db, db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO conversations VALUES (?, ?, ?, ?, ?)",
                           [(c["user"], c["id"], c["title"], c["updated"], json.dumps(c["answers"], ensure_ascii=False))
                            for c in conversations])
            return db.total_changes - before

    def delete(self, user: str, conversation_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM conversations WHERE user = ? AND id = ?", (user, conversation_id))
