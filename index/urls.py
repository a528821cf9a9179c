"""Pages added by their address: fetched within a time and size limit, never from a private address unless allowed.

Every connection goes to an address checked just before connecting (each redirect's too), so a name that resolves
to a public address when checked and to a private one when connected cannot slip through.
"""
import hashlib
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore

from index.errors import DocumentError
from index.uploads import safe_name

MAX_REDIRECTS = 5
USER_AGENT = "ask-the-documents"
# Content type → the suffix a page is stored under, which decides its reader
SUFFIXES = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
            "text/plain": ".txt", "text/markdown": ".md"}


@dataclass(frozen=True)
class Page:
    url: str  # as asked for
    final_url: str  # after redirects
    name: str  # the file name it is stored under in the documents folder
    data: bytes


def is_private(address: str) -> bool:
    """Loopback, private, link-local (the cloud metadata service's 169.254.169.254 too), shared, reserved or
    multicast: anything that is not a public internet address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to addresses that `refused` lets through, checking the very address it connects to."""

    def __init__(self, refused: Callable[[str], bool]):
        self._backend = httpcore.SyncBackend()
        self._refused = refused

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DocumentError(f"{host} could not be found ({exc}); check the address.") from None
        addresses = list(dict.fromkeys(info[4][0] for info in found))
        blocked = [address for address in addresses if self._refused(address)]
        if blocked:  # one private answer is enough to refuse: the name may answer differently next time
            named = f"{host} is" if blocked[0] == host.strip("[]") else f"{host} resolves to {blocked[0]},"
            raise DocumentError(f"{named} a private or local address; pages there are refused unless "
                                "--allow-private-urls is given.")
        error: Exception | None = None
        for address in addresses:
            try:
                return self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def check_url(url: str) -> str:
    """The address, trimmed, if it is an http(s) URL with a host; a DocumentError that says why otherwise."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise DocumentError(f"{url or 'An empty address'} is not an http(s) address; only pages at http:// or "
                            "https:// addresses can be added.")
    if not parts.hostname:
        raise DocumentError(f"{url} names no host; give the whole address, e.g. https://example.com/page.")
    if parts.username or parts.password:
        raise DocumentError(f"{url} holds a user name or password; addresses with credentials are not fetched.")
    return url


def page_name(url: str, suffix: str) -> str:
    """The file name a page is stored under: its host and path, and a short digest of its query, if any."""
    parts = urlsplit(url)
    stem = (parts.hostname or "") + parts.path.rstrip("/").replace("/", "_")
    if stem.lower().endswith(suffix) or (suffix == ".html" and stem.lower().endswith(".htm")):
        stem = stem.rsplit(".", 1)[0]
    if parts.query:
        stem += "-" + hashlib.sha1(parts.query.encode()).hexdigest()[:8]
    return safe_name(stem[-100:] + suffix)


def refuse_none(address: str) -> bool:
    """The policy of --allow-private-urls: every address may be connected to."""
    return False


def fetch(url: str, max_bytes: int, timeout: float, refused: Callable[[str], bool] = is_private) -> Page:
    """The page at url, after at most MAX_REDIRECTS redirects, in at most timeout seconds and max_bytes bytes;
    no connection is made to an address that refused(address) is true of."""
    url = check_url(url)
    deadline = time.monotonic() + timeout
    with httpcore.ConnectionPool(network_backend=_CheckedBackend(refused), max_connections=1) as pool:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                with pool.stream("GET", current, headers=[("User-Agent", USER_AGENT), ("Accept-Encoding", "identity"),
                                                          ("Accept", ", ".join(SUFFIXES) + ", */*;q=0.1")],
                                 extensions={"timeout": {"connect": left, "read": left, "write": left,
                                                         "pool": left}}) as response:
                    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
                    if response.status in (301, 302, 303, 307, 308) and "location" in headers:
                        current = check_url(urljoin(current, headers["location"]))
                        continue
                    if response.status >= 400:
                        raise DocumentError(f"{current} answered HTTP {response.status}; check the address, or try "
                                            "again later.")
                    suffix = _suffix(current, headers.get("content-type", ""))
                    data = _read(response, max_bytes, deadline, current)
                    return Page(url, current, page_name(url, suffix), data)
            except httpcore.TimeoutException:
                break
            except (httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError,
                    httpcore.UnsupportedProtocol) as exc:
                raise DocumentError(f"{current} could not be fetched ({exc or type(exc).__name__}); check the "
                                    "address, or try again later.") from None
        else:
            raise DocumentError(f"{url} redirects more than {MAX_REDIRECTS} times; give the page's final address.")
    raise DocumentError(f"{url} took longer than {timeout:g} s to fetch; try again later, or save the page and "
                        "upload the file.")


def _suffix(url: str, content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind in SUFFIXES:
        return SUFFIXES[kind]
    raise DocumentError(f"{url} is {kind or 'of no stated type'}; pages of types {', '.join(sorted(SUFFIXES))} "
                        "can be added. Save it in a supported format and upload the file.")


def _read(response: httpcore.Response, max_bytes: int, deadline: float, url: str) -> bytes:
    data = bytearray()
    for part in response.iter_stream():
        data += part
        if len(data) > max_bytes:
            raise DocumentError(f"{url} is larger than {max_bytes / 1_000_000:g} MB (--max-upload-mb); save it and "
                                "split it, or raise the limit.")
        if time.monotonic() > deadline:
            raise httpcore.ReadTimeout("deadline")
    return bytes(data)
