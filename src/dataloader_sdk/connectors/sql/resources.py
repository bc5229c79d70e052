"""The two resource rules every SQL connector follows, written once.

* :class:`KeptSession`: the session for metadata and probes is opened on first use and
  kept until :meth:`~dataloader_sdk.connectors.sql.SqlConnector._release` closes it
  (idempotent);
* :func:`owned_stream`: a read on a resource of its own (a connection, a client, a
  cursor) releases it when starting the read fails, and otherwise when the returned
  iterator is drained, fails or is closed (the template closes abandoned readers).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, Generic, TypeVar

__all__ = ["KeptSession", "owned_stream"]

T = TypeVar("T")
R = TypeVar("R")


def _close(resource: Any) -> None:
    resource.close()


class KeptSession(Generic[T]):
    """A session opened by ``open`` on first use and closed once by :meth:`close`.

    ``alive`` says whether a kept session may still serve (default: always); one that
    may not is opened again on the next use.
    """

    def __init__(self, open: Callable[[], T], close: Callable[[T], None] = _close, *,
                 alive: Callable[[T], bool] = lambda _session: True) -> None:
        self._open = open
        self._close = close
        self._alive = alive
        #: The open session, ``None`` before first use and after :meth:`close`.
        self.current: T | None = None

    def get(self) -> T:
        """The kept session, opened first where there is none (or it is no longer alive)."""
        if self.current is None or not self._alive(self.current):
            self.current = self._open()
        return self.current

    def close(self) -> None:
        """Close the session if one is open (idempotent)."""
        current, self.current = self.current, None
        if current is not None:
            self._close(current)


def owned_stream(resource: R, start: Callable[[R], Iterable[T]],
                 release: Callable[[R], None] = _close) -> Generator[T, None, None]:
    """``start(resource)``'s items, with ``resource`` released exactly once.

    ``start`` runs at once (so a bad query fails on the caller's stack); the resource is
    released when it raises, else in the ``finally`` of the returned generator.
    """
    try:
        items = start(resource)
    except BaseException:
        release(resource)
        raise

    def stream() -> Generator[T, None, None]:
        try:
            yield from items
        finally:
            release(resource)

    return stream()
