"""Errors meant for users, raised by index/ and app/ alike: each says what went wrong and what to do about it."""


class AppError(Exception):
    """An error the CLI and the UI show as a message, never as a traceback."""


class QuestionError(AppError):
    """The question cannot be asked as it is (empty, too long)."""


class DocumentError(AppError):
    """A document cannot be read; nothing was indexed."""


def not_indexed(source: str, also: str = "") -> DocumentError:
    """The error for a document name the index does not hold."""
    return DocumentError(f"No document named '{source}' is indexed; `python -m app documents` lists them{also}.")


class UnknownModelError(AppError):
    """A model name matches no registered backend."""


class MissingDependencyError(AppError):
    """An optional backend needs a package that is not installed."""


class StoreError(AppError):
    """The index store cannot be opened, read or written."""


class EmbeddingServerError(AppError):
    """The embedding server cannot be reached, or does not serve the model asked for."""
