"""Answers questions over a folder of documents, with cited passages."""
