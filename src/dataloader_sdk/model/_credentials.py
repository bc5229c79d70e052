"""Recognising credentials written inline: secret-like key names, URL passwords, ``key=value``.

Shared by :meth:`SourceConfig.problems` (which refuses a source config holding a credential,
so none reaches the control DB or its audit history) and by
:func:`dataloader_sdk.secrets.redact` (which masks them in text). Pure ``re``; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from dataloader_sdk.errors import FieldProblem

__all__ = ["SECRET_KEY", "credential_problems", "is_secret_key", "looks_like_reference"]

# Words that name a secret wherever they stand in a key, glued to a prefix or not
# (PGPASSWORD, DB_PASSWORD, clientSecret, apiKey, X-Auth-Token).
_STRONG = (r"password|passwd|passphrase|secret|token|credentials?|"
           r"api[_-]?key|access[_-]?key|private[_-]?key|secret[_-]?key|account[_-]?key|"
           r"signing[_-]?key|client[_-]?secret|sas")
# Short words that name a secret only as a whole key segment (``key``, ``api.key``,
# ``x-auth``), because glued they are ordinary words (monkey, bypass, author).
_WEAK = r"pwd|pass|key|auth|authorization"

#: A key (of ``key=value``, ``key: value``, a query string or JSON) that names a secret.
#: Case-insensitive; nothing but a separator may follow it (``password_file`` is not one).
SECRET_KEY = (
    r"(?:[A-Za-z0-9_.\-]*(?:" + _STRONG + r")"
    r"|(?:[A-Za-z0-9]+[_.\-])*(?:" + _WEAK + r"))(?![A-Za-z0-9_])"
)
_KEY_RE = re.compile(rf"(?i)^{SECRET_KEY}$")
_REFERENCE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
# ``scheme://user:password@`` (the user may be empty) and ``user:password@host``.
_USERINFO_RE = re.compile(r"(?:^|://)[^:/?#@\s]*:[^\s/?#]*@")
# A secret key followed by ``=`` and a value, at the start or after a separator: a query
# string (``?token=``, ``&pwd=``), a conninfo (``password=``) or ODBC (``;PWD=``).
_PAIR_RE = re.compile(rf"(?i)(?:^|[\s;?&,{{(])[\"']?{SECRET_KEY}[\"']?[ \t]*=[ \t]*[^\s&;#]")


def is_secret_key(name: str) -> bool:
    """Whether an option or parameter called ``name`` would hold a secret."""
    return bool(_KEY_RE.match(name))


def looks_like_reference(value: object) -> bool:
    """Whether ``value`` has the shape of a secret reference (``env:NAME``, ``file:/p``)."""
    return isinstance(value, str) and bool(_REFERENCE_RE.match(value))


def _walk(field: str, value: object) -> Iterator[tuple[str, str, object]]:
    """(field path, key, value) for every entry of a nested JSON value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{field}.{key}"
            yield path, str(key), item
            yield from _walk(path, item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(f"{field}[{index}]", item)


def _text_problem(field: str, text: str) -> FieldProblem | None:
    if _USERINFO_RE.search(text):
        what = "a password in the URL's user-info (user:password@host)"
    elif _PAIR_RE.search(text):
        what = "a credential parameter (password, pwd, token, secret, key, ...)"
    else:
        return None
    # The value itself is never quoted back: the message would leak it into logs.
    return FieldProblem(
        field,
        f"holds {what}; never store a secret in the control DB. Remove it, put the secret "
        "in an environment variable or file and set the source's secret reference "
        "(--secret env:NAME, SourceConfig.secret='env:NAME')",
    )


def credential_problems(fields: Mapping[str, object]) -> list[FieldProblem]:
    """A problem per field (or nested option) that holds an inline credential.

    Args:
        fields: field name → value; string values are scanned as text, mappings and
            lists recursively (their secret-named keys must hold references).
    """
    out: list[FieldProblem] = []
    for name, value in fields.items():
        if isinstance(value, str):
            if (p := _text_problem(name, value)) is not None:
                out.append(p)
            continue
        for path, key, item in _walk(name, value):
            if is_secret_key(key) and item not in (None, "") and not (
                looks_like_reference(item)
            ):
                out.append(FieldProblem(
                    path,
                    "names a secret but does not hold a secret reference; never store a "
                    "secret in the control DB. Put it in an environment variable or file "
                    "and reference it (--secret env:NAME, or 'env:NAME' here)",
                ))
            elif isinstance(item, str) and (p := _text_problem(path, item)) is not None:
                out.append(p)
    return out
