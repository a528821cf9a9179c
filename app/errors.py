"""Errors meant for users, for app/: the same classes index/ raises (they live in index/errors.py, below both)."""
from index.errors import (AppError, DocumentError, MissingDependencyError, QuestionError, StoreError,
                          UnknownModelError, not_indexed)

__all__ = ["AppError", "DocumentError", "MissingDependencyError", "QuestionError", "StoreError", "UnknownModelError",
           "not_indexed"]
