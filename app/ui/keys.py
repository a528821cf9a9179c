"""The bearer tokens that the machine-facing routes (/v1 for OpenAI clients, /gradio_api/mcp for MCP clients) take:
--api-key values and, with --auth, each login written as USER:PASSWORD."""
import base64
import hmac

REFUSAL = ("A valid API key is required: send `Authorization: Bearer KEY` with a key given to --api-key (or a "
           "login given to --auth, as USER:PASSWORD).")


class BearerKeys:
    def __init__(self, api_keys: list[str] = (), logins: list[tuple[str, str]] = ()):
        self.tokens = [*api_keys, *(f"{user}:{password}" for user, password in logins)]

    def allows(self, authorization: str) -> bool:
        """Whether an Authorization header holds one of the tokens (Bearer TOKEN, or Basic for a login);
        anything goes when there are none."""
        if not self.tokens:
            return True
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                value = base64.b64decode(value, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return False
        elif scheme.lower() != "bearer":
            return False
        return any(hmac.compare_digest(value.encode(), token.encode()) for token in self.tokens)
