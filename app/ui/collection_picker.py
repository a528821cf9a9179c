"""The collection picker above the chat: switch between collections, and create, rename or delete one (deleting asks
first, and removes that collection's documents and vectors only)."""
import html

import gradio as gr

from app.collections import Collections
from app.errors import AppError


def build(collections: Collections) -> gr.Dropdown:
    """The picker; returns the dropdown whose value names the collection the page works on."""
    with gr.Row(equal_height=True):
        # allow_custom_value: the page's list can lag behind the server's (a collection made by another page, or an
        # event that left before a new name's update arrived); Collections.get names a missing collection itself
        collection = gr.Dropdown(choices=collections.names(), value=collections.default_name, label="Collection",
                                 scale=2, elem_id="collection", info="The documents questions are answered from",
                                 allow_custom_value=True)
        with gr.Accordion("Manage collections", open=False, elem_id="manage-collections"):
            with gr.Row(equal_height=True):
                name = gr.Textbox(placeholder="A name, e.g. contracts", show_label=False, max_lines=1, scale=3,
                                  elem_id="collection-name")
                create = gr.Button("Create", size="sm", scale=1, elem_id="create-collection", min_width=70)
                rename = gr.Button("Rename", size="sm", scale=1, elem_id="rename-collection", min_width=70)
                delete = gr.Button("Delete", variant="stop", size="sm", scale=1, elem_id="delete-collection",
                                   min_width=70)
            with gr.Row(visible=False) as confirm:
                sure = gr.Button("Delete it, with its documents", variant="stop", size="sm",
                                 elem_id="confirm-delete-collection")
                keep = gr.Button("Keep it", size="sm", elem_id="keep-collection")
            result = gr.HTML(elem_id="collections-result")

    def said(text: str, refused: bool = False) -> str:
        return f'<p class="{"refused" if refused else "done"}">{html.escape(text)}</p>'

    def listed(chosen: str):
        return gr.update(choices=collections.names(), value=chosen)

    def on_create(new: str):
        try:
            created = collections.create(new)
        except AppError as exc:
            return gr.skip(), said(str(exc), True), gr.skip()
        name_of = created.settings.docs.name
        return listed(name_of), said(f"Created {name_of}: add documents to it in the Documents panel."), ""

    def on_rename(current: str, new: str):
        try:
            collections.rename(current, new)
        except AppError as exc:
            return gr.skip(), said(str(exc), True), gr.skip()
        new = " ".join(new.split())
        return listed(new), said(f"Renamed {current} to {new}."), ""

    def on_delete(current: str):
        if current == collections.default_name:
            return gr.update(visible=False), said(f"{current} is the default collection; it cannot be deleted.", True)
        return gr.update(visible=True), said(f"Delete {current}, its documents and their passages?")

    def on_sure(current: str):
        try:
            count = collections.delete(current)
        except AppError as exc:
            return gr.update(visible=False), gr.skip(), said(str(exc), True)
        return (gr.update(visible=False), listed(collections.default_name),
                said(f"Deleted {current} and its {count} document(s)."))

    create.click(on_create, name, [collection, result, name], api_visibility="private")
    name.submit(on_create, name, [collection, result, name], api_visibility="private")
    rename.click(on_rename, [collection, name], [collection, result, name], api_visibility="private")
    delete.click(on_delete, collection, [confirm, result], api_visibility="private")
    keep.click(lambda: (gr.update(visible=False), ""), None, [confirm, result], api_visibility="private")
    sure.click(on_sure, collection, [confirm, collection, result], api_visibility="private")
    return collection
