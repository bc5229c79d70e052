"""Secret references, the :class:`Secret` type and redaction.

The control DB stores only references. :func:`resolve` turns one into a :class:`Secret`,
whose ``repr``/``str`` are redacted, so a secret cannot leak through logging, exception
messages, history rows or dataclass reprs by accident. Call :meth:`Secret.reveal` at the
last moment, inside the connector that needs it.

The built-in resolvers (``env:``, ``file:``, ``databricks:``) are a plugin of their own,
:mod:`dataloader_sdk.secret_resolvers`; this module imports no plugin machinery, so
connectors, the plugin host and the resolvers can all depend on it without a circle.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from dataloader_sdk.errors import SecretError
from dataloader_sdk.model._credentials import SECRET_KEY

__all__ = [
    "MIN_SECRET_LENGTH",
    "PREVIEW_CHARS",
    "REDACTED",
    "Secret",
    "SecretResolver",
    "cap_quoted_values",
    "redact",
    "redacting_loggers",
    "resolve",
    "secret_forms",
    "value_preview",
]

REDACTED = "***"
#: The shortest secret :func:`resolve` accepts. Redaction replaces a secret's value
#: wherever it occurs: a value of 1-3 characters occurs inside ordinary words, numbers and
#: identifiers, so masking it turns messages into noise whose gaps still spell it out (and
#: so short a password is guessed in moments anyway). Four characters is the least that
#: masks without mangling; real passwords are far longer.
MIN_SECRET_LENGTH = 4
#: How much of a source value an error message may show (see :func:`value_preview`).
PREVIEW_CHARS = 40


class Secret:
    """A secret value that never shows itself in ``repr``, ``str`` or format strings."""

    __slots__ = ("_reference", "_value")

    def __init__(self, value: str, reference: str = "") -> None:
        self._value = value
        self._reference = reference

    def reveal(self) -> str:
        """The secret itself. Call only where a driver needs it."""
        return self._value

    @property
    def reference(self) -> str:
        """Where the secret came from (safe to show)."""
        return self._reference

    def __repr__(self) -> str:
        return f"Secret({self._reference or REDACTED!s}={REDACTED})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:  # pickling would write the secret to disk or a queue
        raise TypeError("Secret objects cannot be pickled")


class SecretResolver(Protocol):
    """What :func:`resolve` asks: the plugin host (:class:`~dataloader_sdk.plugins.PluginHost`)
    or any object with these two methods (a test double, a vault client's adapter)."""

    def resolve_secret(self, reference: str) -> str | None:
        """The secret ``reference`` names, or ``None`` when no resolver knows its scheme."""

    def secret_schemes(self) -> list[str]:
        """The schemes known, for the message of an unknown one."""


def resolve(reference: str, host: SecretResolver, *, source: str = "") -> Secret:
    """Resolve a reference through ``host``, normally the plugin host of the facade.

    The resolver is passed in, never looked up: a ``DataLoader(host=...)`` with its own
    resolvers is honoured by everything it calls.

    Raises:
        SecretError: unknown scheme, missing variable/file/key, or a value shorter than
            :data:`MIN_SECRET_LENGTH`. The message names the reference and the source,
            never the secret.
    """
    where = f" (source {source!r})" if source else ""
    scheme, sep, _ = reference.partition(":")
    if not sep:
        raise SecretError(
            f"secret{where} must be a reference like 'env:NAME' or 'file:/path'; "
            "store the secret in an environment variable or file and reference it"
        )
    try:
        value = host.resolve_secret(reference)
    except SecretError as exc:
        raise SecretError(f"{exc}{where}") from None
    if value is None:
        raise SecretError(
            f"no secret resolver for scheme {scheme!r}{where}; known schemes: "
            f"{', '.join(host.secret_schemes()) or '(none)'}. Install the plugin that "
            "provides it or use env:/file:"
        )
    if len(value) < MIN_SECRET_LENGTH:
        # Fail closed: a secret this short cannot be masked in messages (see above).
        raise SecretError(
            f"secret reference {reference!r}{where} holds a value shorter than "
            f"{MIN_SECRET_LENGTH} characters, too short to keep out of logs and messages; "
            "use a longer secret (or no secret reference if the source needs none)"
        )
    return Secret(value, reference)


# -- redaction ------------------------------------------------------------------------
#
# Two nets. Known secret values are replaced wherever they occur, also in the encodings a
# message may carry them in (percent-encoded in a URL, JSON- or repr-escaped, ODBC-braced).
# Unknown ones are caught by shape: a URL's ``user:password@`` and a secret-named key
# followed by ``=`` or ``:`` and a value (bare, quoted, ODBC-braced, ``Bearer x``).
#
# An error message such as ``secret: must be a reference like 'env:NAME'`` has the shape
# ``key: value`` too, and masking its first word ("secret: *** be a reference") garbles the
# one sentence that says what to do. The general rule: an unquoted ``key: value`` whose
# value is a word as prose writes it (lower case or Capitalised letters, no digits or
# symbols) and is followed by more words on the same line is an explanation, not a
# credential. A one-word explanation at the end ("password: required") is prose only for
# the words below. ``key=value``, quoted values and quoted (JSON) keys are always masked,
# and known secret values are masked wherever they stand (the first net).
_URL_USERINFO = re.compile(
    r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)(?P<pw>[^\s/?#]*)(?P<post>@)"
)
_VALUE = (
    r"(?P<value>\{(?:[^}]|\}\})*\}"          # ODBC braces; '}}' escapes '}'
    r"|\"(?:[^\"\\]|\\.)*\""             # "double quoted", backslash escapes
    r"|'(?:[^'\\]|\\.)*'"                 # 'single quoted'
    r"|(?:bearer|basic)[ \t]+[^\s;&]+"     # an HTTP Authorization value
    r"|[^\s;&]+)"                           # bare, up to a space or a separator
)
_PAIR = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.\-])(?P<kq>[\"']?)(?P<key>{SECRET_KEY})(?P=kq)"
    rf"(?P<sep>[ \t]*(?P<op>[=:])[ \t]*){_VALUE}"
)
# Words that begin the explanation in "field: explanation" messages.
_PROSE_WORDS = frozenset({
    "a", "an", "the", "and", "or", "not", "no", "is", "are", "was", "were", "be", "been",
    "being", "must", "should", "shall", "can", "cannot", "could", "may", "might", "will",
    "would", "needs", "need", "has", "have", "had", "does", "did", "do", "only", "also",
    "either", "neither", "required", "missing", "invalid", "unknown", "unset", "empty",
    "given", "expected", "refused", "rejected", "allowed", "set", "use", "used", "uses",
    "using", "see", "check", "ignored", "too", "never", "always", "resolved", "reference",
    "references", "named", "names", "holds", "contains", "from", "of", "for", "in", "on",
    "at", "to", "by", "with", "without", "like", "unsupported", "wrong", "malformed",
    "none", "null", "true", "false",
})
_FOLLOWED_BY_WORD = re.compile(r"[ \t]+[A-Za-z0-9(\'\"`]")
# A word as prose writes it: "must", "Must", "isn't", "well-formed", "required," ...
_PROSE_WORD = re.compile(r"(?:[a-z]+|[A-Z][a-z]+)(?:['\u2019\-][a-z]+)*[.,;:!?]?")
# A reference to a secret is safe to show (``secret: env:ERP_PASSWORD``).
_BUILTIN_REFERENCE = re.compile(r"(?i)^(?:env|file|databricks):\S*$")


def _is_prose(match: re.Match[str]) -> bool:
    """Whether the unquoted value after ``key:`` begins a sentence rather than a secret."""
    value = match.group("value")
    if _PROSE_WORD.fullmatch(value) is None:
        return False  # digits, symbols, snake_case or MiXeD case: shaped like a credential
    if value.rstrip(".,;:!?").lower() in _PROSE_WORDS:
        return True
    return _FOLLOWED_BY_WORD.match(match.string, match.end()) is not None


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if match.group("op") == ":" and not match.group("kq") and _is_prose(match):
        return match.group(0)  # "secret: must be a reference ..." is an explanation
    if match.group("op") == ":" and not match.group("kq") and match.group("key").lower() in (
            "key", "auth"):
        return match.group(0)  # "primary key: id", "duplicate key: (5)": not credentials
    if _BUILTIN_REFERENCE.match(value.strip("\"'{}")):
        return match.group(0)
    if value[:1] in "\"'":
        masked = f"{value[0]}{REDACTED}{value[0]}"
    elif value[:1] == "{":
        masked = f"{{{REDACTED}}}"
    else:
        masked = REDACTED
    kq = match.group("kq")
    return f"{kq}{match.group('key')}{kq}{match.group('sep')}{masked}"


def secret_forms(value: str) -> list[str]:
    """``value`` and the encodings a message may carry it in, longest first.

    Percent-encoded (URLs), JSON- and repr-escaped, and with ``}`` doubled (ODBC braces).
    """
    import json
    from urllib.parse import quote, quote_plus

    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1],
             repr(value)[1:-1], value.replace("}", "}}")}
    return sorted((f for f in forms if f), key=len, reverse=True)


def _replace_values(text: str, values: list[str]) -> str:
    for value in values:
        # Repeat: a replacement can join its neighbours into the value again ("****").
        while value in text:
            text = text.replace(value, REDACTED)
    return text


def redact(text: str, *secrets: Secret | None) -> str:
    """``text`` with every secret masked as ``***``.

    Masks the given secrets' values (also percent-encoded, JSON/repr-escaped or with ``}``
    doubled), URL passwords (``scheme://user:***@host``) and values of secret-named keys in
    every common form: ``password=x``, ``PGPASSWORD=x``, ``?token=x&``, ``PWD={a;b c}``,
    ``{"password": "x"}``, ``password: 'x y'``, ``Authorization: Bearer x``. Ordinary
    prose such as ``secret: must be a reference`` is left alone.
    """
    values = sorted({f for s in secrets if s is not None and s.reveal()
                     for f in secret_forms(s.reveal())}, key=len, reverse=True)
    text = _replace_values(text, values)
    text = _URL_USERINFO.sub(rf"\g<pre>{REDACTED}\g<post>", text)
    text = _PAIR.sub(_mask_pair, text)
    # Masking can splice text into a known value again; a last pass by value fixes that.
    return _replace_values(text, values)


def value_preview(value: object, limit: int = PREVIEW_CHARS) -> str:
    """A source value as an error message may show it: a short prefix and the size.

    Source rows hold personal and secret data; a message that quotes a bad value whole
    copies it into logs, run history and alerts. Only the first ``limit`` characters (or
    bytes) are shown, then ``…(N chars)`` / ``…(N bytes)`` when there was more. Every
    message that quotes a source value goes through here; whole rows never do.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return repr(raw[:limit]) + (f"…({len(raw)} bytes)" if len(raw) > limit else "")
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:limit]) + (f"…({len(text)} chars)" if len(text) > limit else "")


class _RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[Secret | None, ...]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message, *self._secrets)
        if masked != message:
            record.msg, record.args = masked, None
        return True


@contextmanager
def redacting_loggers(names: Iterable[str], *secrets: Secret | None) -> Iterator[None]:
    """Mask ``secrets`` (and secret-shaped text) in records of the named loggers meanwhile.

    For third-party libraries that log what they send, such as py4j, whose DEBUG records
    carry every command to the JVM, the password of ``spark.read.jdbc`` included. A
    logger's filters see only its own records, so name each logger that writes them.
    """
    loggers = [logging.getLogger(name) for name in names]
    guard = _RedactingFilter(secrets)
    for logger in loggers:
        logger.addFilter(guard)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(guard)


_LONG = PREVIEW_CHARS + 1
# A quote left open runs to the line's end: sqlite3 cuts a long value without closing its quote.
# An opening quote follows the start, white space or one of ``:=([``; without that rule
# the closing quote of one short quoted word and the opening quote of the next one would
# read as one long value, and the text between them (often the reason) would be cut.
_OPENS = r"(?:(?<=^)|(?<=[\s:=(\[]))"
_LONG_QUOTED = re.compile(
    rf"{_OPENS}'([^'\n]{{{_LONG},}})(?:'|(?=\n)|$)"
    rf"|{_OPENS}\"([^\"\n]{{{_LONG},}})(?:\"|(?=\n)|$)")


def cap_quoted_values(text: str) -> str:
    """``text`` with every quoted run longer than ``PREVIEW_CHARS`` cut to a preview.

    Drivers quote the offending value whole (sqlite3's "Could not decode to UTF-8 column
    'v' with text '...'", PostgreSQL's 'invalid input syntax for type integer: "..."');
    this keeps such messages useful without copying source data into logs.
    """
    return _LONG_QUOTED.sub(
        lambda m: value_preview(m.group(1) if m.group(1) is not None else m.group(2)), text)
