"""A loopback stand-in for the few Databricks REST endpoints the tests' real clients call.

No Databricks workspace can run here. The real ``databricks-sdk`` ``WorkspaceClient`` (and
through it ``dagster-databricks``' Pipes clients and the Lakebase credential provider)
is pointed at this server, which records every request and answers like the workspace:

* DBFS (``/api/2.0/dbfs/*``) and the Files API (``/api/2.0/fs/*``): an in-memory tree;
* Jobs: ``runs/submit`` records the payload and, through ``on_submit``, may put what a
  remote Pipes writer would write (a messages chunk) where the reader looks;
  ``runs/get`` says ``TERMINATED``/``SUCCESS``;
* ``/api/2.0/database/credentials``: answered by ``on_credential``.

It is a fake of the workspace only; every client is the real one. docs/testing.md names
this stand-in and its limit.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

RUN_ID = 4242


@dataclass
class Recorded:
    """One request as the stub received it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class DatabricksStub:
    """The server's state; ``url`` is its base URL."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # DBFS and volumes, by path
    dirs: set[str] = field(default_factory=set)
    on_submit: Callable[[DatabricksStub, dict[str, Any]], None] | None = None
    on_credential: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] | None = None

    def calls(self, method: str, path: str) -> list[Recorded]:
        """The recorded requests to one endpoint."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def submitted(self) -> dict[str, Any]:
        """The one ``jobs/runs/submit`` body."""
        (call,) = self.calls("POST", "/api/2.2/jobs/runs/submit")
        body: dict[str, Any] = call.body
        return body


def _handler(stub: DatabricksStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _reply(self, status: int, payload: Any = None, raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(payload or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream" if raw is not None
                             else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _missing(self, path: str) -> None:
            self._reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                              "message": f"{path} does not exist"})

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = raw
            if raw and "json" in (self.headers.get("Content-Type") or ""):
                body = json.loads(raw)
            stub.requests.append(Recorded(self.command, path, query, body))
            self._route(self.command, path, query, body, raw)

        def _route(self, method: str, path: str, query: dict[str, str], body: Any,
                   raw: bytes) -> None:
            if path.startswith("/api/2.0/fs/"):
                self._files(method, path, raw)
            elif path.startswith("/api/2.0/dbfs/"):
                self._dbfs(path.rsplit("/", 1)[1], query, body)
            elif path == "/api/2.2/jobs/runs/submit":
                if stub.on_submit is not None:
                    stub.on_submit(stub, body)
                self._reply(200, {"run_id": RUN_ID})
            elif path == "/api/2.2/jobs/runs/get":
                self._reply(200, {"run_id": RUN_ID, "run_page_url": f"{stub.url}/run/{RUN_ID}",
                                  "state": {"life_cycle_state": "TERMINATED",
                                            "result_state": "SUCCESS", "state_message": ""}})
            elif path == "/api/2.0/database/credentials" and stub.on_credential is not None:
                self._reply(*stub.on_credential(body))
            else:
                self._reply(501, {"error_code": "NOT_IMPLEMENTED", "message": path})

        def _dbfs(self, op: str, query: dict[str, str], body: Any) -> None:
            target = query.get("path") or (body or {}).get("path", "")
            if op == "mkdirs":
                stub.dirs.add(target)
                self._reply(200)
            elif op == "put":
                stub.files[target] = base64.b64decode(body["contents"])
                self._reply(200)
            elif op == "delete":
                for name in [f for f in stub.files if f == target or f.startswith(target + "/")]:
                    del stub.files[name]
                stub.dirs.discard(target)
                self._reply(200)
            elif op == "get-status":
                if target in stub.dirs or target in stub.files:
                    self._reply(200, {"path": target, "is_dir": target in stub.dirs})
                else:
                    self._missing(target)
            elif op == "read" and target in stub.files:
                data = stub.files[target]
                self._reply(200, {"bytes_read": len(data),
                                  "data": base64.b64encode(data).decode()})
            else:
                self._missing(target)

        def _files(self, method: str, path: str, raw: bytes) -> None:
            kind, _, rest = path.removeprefix("/api/2.0/fs/").partition("/")
            target = "/" + unquote(rest)
            if kind == "directories" and method == "PUT":
                stub.dirs.add(target)
                self._reply(200)
            elif kind == "directories" and method == "GET":
                if target not in stub.dirs:
                    self._missing(target)
                    return
                names = [f for f in stub.files if f.rsplit("/", 1)[0] == target]
                self._reply(200, {"contents": [
                    {"path": f, "name": f.rsplit("/", 1)[1], "is_directory": False}
                    for f in names]})
            elif kind == "directories" and method == "DELETE":
                stub.dirs.discard(target)
                self._reply(200)
            elif kind == "files" and method == "PUT":
                stub.files[target] = raw
                self._reply(204)
            elif kind == "files" and method == "GET" and target in stub.files:
                self._reply(200, raw=stub.files[target])
            elif kind == "files" and method == "DELETE":
                stub.files.pop(target, None)
                self._reply(204)
            else:
                self._missing(target)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler


@contextmanager
def serve_stub() -> Iterator[DatabricksStub]:
    """Run a :class:`DatabricksStub` on a free loopback port for the block."""
    stub = DatabricksStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
