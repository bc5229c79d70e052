"""Private keys for Snowflake key-pair authentication (``snowflake_pem``).

Accepted forms of the key secret:

* PKCS#8 PEM, encrypted (``-----BEGIN ENCRYPTED PRIVATE KEY-----``, needs the passphrase)
  or not (``-----BEGIN PRIVATE KEY-----``); a traditional ``RSA PRIVATE KEY`` PEM too;
* base64 of the DER bytes (what many secret stores hold, one line, no armour);
* PEM whose line breaks were stored as the two characters ``\\n`` (environment variables).

The key is returned as unencrypted PKCS#8 DER bytes, the form
``snowflake.connector.connect(private_key=...)`` takes. Errors are :class:`SecretError`
(a :class:`ConfigError`): they name the source and what is wrong, never the key or the
passphrase.
"""

from __future__ import annotations

import base64
import binascii

from dataloader_sdk.errors import SecretError
from dataloader_sdk.secrets import Secret

__all__ = ["load_private_key"]


def load_private_key(key: Secret, passphrase: Secret | None, *, source: str) -> bytes:
    """The private key of ``key`` as unencrypted PKCS#8 DER bytes.

    Args:
        key: the key secret (PEM or base64 DER).
        passphrase: the passphrase of an encrypted key, or ``None``.
        source: the source name, for messages.

    Raises:
        SecretError: malformed key, wrong or missing passphrase, unsupported key type.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    where = f"source {source!r}: the private key ({key.reference or 'secret'})"
    text = key.reveal().strip()
    if "\\n" in text and "\n" not in text:
        text = text.replace("\\n", "\n")
    password = passphrase.reveal().encode("utf-8") if passphrase is not None else None
    is_pem = text.startswith("-----BEGIN")
    if is_pem:
        data = text.encode("ascii", errors="replace")
    else:
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise SecretError(
                f"{where} is neither a PEM block nor base64 DER; store the PKCS#8 PEM "
                "(-----BEGIN [ENCRYPTED] PRIVATE KEY-----) or its base64 DER") from None
    load = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    try:
        try:
            private = load(data, password=password)
        except TypeError as exc:
            if password is not None and "not encrypted" in str(exc):
                # A passphrase for a plain key is harmless: use the key as it is.
                private = load(data, password=None)
            else:
                raise SecretError(
                    f"{where} is encrypted but no passphrase was given; set "
                    "options.private_key_passphrase_secret to a secret reference") from None
    except ValueError:
        hint = ("the passphrase is wrong or the key is corrupt" if password is not None
                else "the key is malformed (or encrypted with a passphrase not given)")
        raise SecretError(f"{where} cannot be loaded: {hint}; check both secrets") from None
    except UnsupportedAlgorithm:
        raise SecretError(f"{where} uses an unsupported algorithm or cipher") from None
    if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SecretError(
            f"{where} is a {type(private).__name__}; Snowflake needs an RSA (or EC) key")
    return private.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
