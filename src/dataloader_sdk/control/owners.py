"""Lease owners: whether the process named in a lease still exists.

A lease owner is ``host:pid:thread`` (:class:`~dataloader_sdk.loader.DataLoader` makes
it), where ``host`` is :func:`local_host`: the host name *and* the process's PID
namespace. Containers can share a host name (``--network host``, a fixed ``--hostname``)
while each counts pids on its own, so a pid missing here may be alive next door; with
the namespace in the name, only owners from this very pid space are ever judged.

A process killed with ``kill -9``, or one the user stopped twice with Ctrl-C, leaves its
table ``running`` under a lease that would only expire after an hour. When the owner ran
in *this* pid space and its pid no longer exists, the lease is certainly stale and the
next claim may take it over at once. Anything else — another host, an owner name in
another format (including owners written before the namespace was part of the name), a
pid that exists (even if reused by an unrelated process) — is treated as alive: a wrong
"alive" only costs waiting for the expiry, a wrong "gone" would let two runs write one
table.
"""

from __future__ import annotations

import os
import socket

__all__ = ["local_host", "owner_is_gone"]


def local_host() -> str:
    """This process's host name plus its PID namespace (``name/ns``), when readable."""
    name = socket.gethostname()
    try:
        # e.g. "pid:[4026531836]": the inode names the namespace.
        namespace = os.readlink("/proc/self/ns/pid").partition("[")[2].rstrip("]")
    except OSError:
        return name
    return f"{name}/{namespace}" if namespace.isdigit() else name


def owner_is_gone(owner: str | None, *, hostname: str | None = None) -> bool:
    """Whether ``owner`` names a process on this host that no longer exists."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return False
    host, pid_text, _thread = parts
    if host != (hostname or local_host()) or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False
