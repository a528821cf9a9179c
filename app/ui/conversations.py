"""The conversations sidebar: new, open, rename, delete. A signed-in user's conversations are kept on the server
(app.conversation_store); without --auth they are kept in the browser (localStorage, encrypted with the server's
key). Either way they survive a reload and a server restart, and each answers follow-ups from itself only."""
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timezone

import gradio as gr

from app import conversation
from app.answers import Answer
from app.conversation_store import ConversationStore
from app.ui.chat import ChatParts

STORAGE_KEY = "ask-the-documents-conversations"
IN_A_BROWSER = 50  # conversations kept in a browser's local storage (a few MB at most); the oldest go first
TITLE_CHARS = 60
PAGES_REMEMBERED = 64  # open pages whose latest browser state the server holds; an older page sends its own
CSS = """
#conversations label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
"""


class _Kept:
    """A page's conversations: in the server's store for a signed-in user, else in the browser's saved state
    ({"conversations": {id: conversation}, "current": id}), which `saved` returns to write back."""

    def __init__(self, store: ConversationStore, request: gr.Request | None, saved: dict | None):
        self.store, self.user = store, getattr(request, "username", None)
        saved = saved if isinstance(saved, dict) else {}
        kept = saved.get("conversations")
        self.saved = {"conversations": dict(kept) if isinstance(kept, dict) else {}, "current": saved.get("current")}

    def conversations(self) -> list[dict]:
        if self.user:
            return self.store.conversations(self.user)
        found = [c for c in self.saved["conversations"].values() if isinstance(c, dict) and "updated" in c]
        return sorted(found, key=lambda c: str(c["updated"]), reverse=True)

    def get(self, conversation_id: str | None) -> dict | None:
        if not conversation_id:
            return None
        if self.user:
            return self.store.get(self.user, conversation_id)
        return self.saved["conversations"].get(conversation_id)

    def save(self, kept: dict) -> None:
        if self.user:
            self.store.save(self.user, kept)
            return
        self.saved["conversations"][kept["id"]] = kept
        for old in self.conversations()[IN_A_BROWSER:]:
            self.saved["conversations"].pop(old["id"], None)

    def delete(self, conversation_id: str) -> None:
        if self.user:
            self.store.delete(self.user, conversation_id)
        else:
            self.saved["conversations"].pop(conversation_id, None)

    def current(self) -> str | None:
        """The conversation to open when the page loads: the one last open in this browser, or the latest."""
        if not self.user and self.get(self.saved["current"]):
            return self.saved["current"]
        listed = self.conversations()
        return listed[0]["id"] if listed else None

    def opened(self, conversation_id: str | None) -> None:
        self.saved["current"] = conversation_id


class _Pages:
    """The latest browser state each open page was sent, so that a page's changes apply one after the other: an
    event carries the state as it was when it was triggered, so a rename made while an answer is being kept would
    otherwise be undone by that answer's save (or the other way round)."""

    def __init__(self, size: int = PAGES_REMEMBERED):
        self._latest: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    @contextmanager
    def kept(self, store: ConversationStore, request: gr.Request | None, browser: dict | None):
        """A page's conversations as its last change left them; what the block changes is what the page has next."""
        page = getattr(request, "session_hash", None)
        with self._lock:
            kept = _Kept(store, request, self._latest.get(page, browser) if page else browser)
            yield kept
            if page and not kept.user:
                self._latest[page] = kept.saved
                self._latest.move_to_end(page)
                while len(self._latest) > self._size:
                    self._latest.popitem(last=False)

    def closed(self, request: gr.Request | None) -> None:
        with self._lock:
            self._latest.pop(getattr(request, "session_hash", None), None)


def answers_of(kept: dict | None) -> list[Answer]:
    """The answers a kept conversation holds; one that cannot be read (from an edited browser store) is left out."""
    found = []
    for record in (kept or {}).get("answers", []):
        try:
            found.append(conversation.from_record(record))
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return found


def build(store: ConversationStore, parts: ChatParts) -> tuple[tuple, tuple, Callable[[gr.Request | None], None]]:
    """The sidebar, wired to the chat's parts; returns what the page's load runs to open the conversation last
    open, and what starts a new one (each a function, its inputs and its outputs), and what a closed page runs."""
    saved = gr.BrowserState({}, storage_key=STORAGE_KEY, secret=store.browser_key())
    pages = _Pages()
    current = gr.State(None)  # the id of the conversation shown; None until its first answer
    with gr.Sidebar(label="Conversations", position="left", open=True, elem_id="conversations-sidebar"):
        new = gr.Button("New conversation", variant="primary", size="sm", elem_id="new-conversation")
        listed = gr.Radio(choices=[], value=None, show_label=False, elem_id="conversations")
        name = gr.Textbox(placeholder="A new name for this conversation", show_label=False, max_lines=1,
                          elem_id="conversation-name")
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="rename-conversation")
            delete = gr.Button("Delete", variant="stop", size="sm", elem_id="delete-conversation")
        with gr.Row(visible=False) as confirm:  # a deleted conversation cannot be brought back
            sure = gr.Button("Delete it", variant="stop", size="sm", elem_id="confirm-delete")
            keep = gr.Button("Keep it", size="sm", elem_id="keep-conversation")

    def choices(kept: _Kept, chosen: str | None):
        return gr.update(choices=[(c["title"], c["id"]) for c in kept.conversations()], value=chosen)

    def on_load(browser: dict | None, request: gr.Request):
        with pages.kept(store, request, browser) as kept:
            chosen = kept.current()
            listed_now, shown = choices(kept, chosen), answers_of(kept.get(chosen))
        return listed_now, chosen, *parts.shown(shown)

    def on_answered(chosen: str | None, answered: list[Answer], browser: dict | None, request: gr.Request):
        if not answered:
            return gr.skip(), gr.skip(), gr.skip()
        with pages.kept(store, request, browser) as kept:
            earlier = kept.get(chosen)
            if earlier is None:
                chosen = uuid.uuid4().hex
                earlier = {"id": chosen, "title": _title(answered[0].question)}
            kept.save({**earlier, "updated": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                       "answers": [conversation.to_record(answer) for answer in answered]})
            kept.opened(chosen)
            return chosen, kept.saved, choices(kept, chosen)

    def on_open(chosen: str | None, browser: dict | None, request: gr.Request):
        with pages.kept(store, request, browser) as kept:
            kept.opened(chosen)
            shown = answers_of(kept.get(chosen))
        return chosen, kept.saved, *parts.shown(shown)

    def on_new(browser: dict | None, request: gr.Request):
        with pages.kept(store, request, browser) as kept:
            kept.opened(None)
        return None, kept.saved, gr.update(value=None), *parts.shown([])

    def on_rename(chosen: str | None, title: str, browser: dict | None, request: gr.Request):
        with pages.kept(store, request, browser) as kept:
            earlier, title = kept.get(chosen), " ".join((title or "").split())
            if earlier is None or not title:
                gr.Warning("Open a conversation and type its new name first.")
                return gr.skip(), gr.skip(), gr.skip()
            kept.save({**earlier, "title": title[:TITLE_CHARS * 2]})
            return kept.saved, choices(kept, chosen), ""

    def on_delete(chosen: str | None, browser: dict | None, request: gr.Request):
        with pages.kept(store, request, browser) as kept:
            found = kept.get(chosen) is not None
        if not found:
            gr.Warning("Open the conversation to delete first.")
        return gr.update(visible=found)

    def on_sure(chosen: str | None, browser: dict | None, request: gr.Request):
        with pages.kept(store, request, browser) as kept:
            kept.delete(chosen)
            kept.opened(None)
        return gr.update(visible=False), None, kept.saved, choices(kept, None), *parts.shown([])

    for event in parts.answered:
        event.then(on_answered, [current, parts.answers, saved], [current, saved, listed], api_visibility="private")
    parts.cleared.then(on_new, saved, [current, saved, listed, *parts.conversation], api_visibility="private")
    listed.input(on_open, [listed, saved], [current, saved, *parts.conversation], api_visibility="private")
    new.click(on_new, saved, [current, saved, listed, *parts.conversation], api_visibility="private")
    rename.click(on_rename, [current, name, saved], [saved, listed, name], api_visibility="private")
    delete.click(on_delete, [current, saved], confirm, api_visibility="private")
    keep.click(lambda: gr.update(visible=False), None, confirm, api_visibility="private")
    sure.click(on_sure, [current, saved], [confirm, current, saved, listed, *parts.conversation],
               api_visibility="private")
    return (on_load, [saved], [listed, current, *parts.conversation]), \
        (on_new, saved, [current, saved, listed, *parts.conversation]), pages.closed


def _title(question: str) -> str:
    question = " ".join(question.split())
    return question if len(question) <= TITLE_CHARS else question[:TITLE_CHARS - 1].rstrip() + "…"
