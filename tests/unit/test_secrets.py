"""Secret references resolve through plugins; secret values never show themselves."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from dataloader_sdk.errors import SecretError
from dataloader_sdk.plugins import PluginHost, hookimpl
from dataloader_sdk.secrets import Secret, redact, resolve

PW = "s3cr3t-Pa55w0rd"


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost()


def test_secret_never_shows_in_repr_str_format_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(PW, "env:PGPASSWORD")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("t").info("connecting with %s / %r / %s", secret, secret, f"{secret}")
    for text in (repr(secret), str(secret), f"{secret}", caplog.text, repr([secret])):
        assert PW not in text
    assert "env:PGPASSWORD" in repr(secret)
    assert secret.reveal() == PW
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(secret)


def test_env_and_file_references(host: PluginHost, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DL_TEST_PW", PW)
    assert resolve("env:DL_TEST_PW", host).reveal() == PW
    path = tmp_path / "pw"
    path.write_text(PW + "\n")
    assert resolve(f"file:{path}", host).reveal() == PW


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("env:DL_SURELY_UNSET_VAR", "is not set"),
        ("file:/nonexistent/dir/pw", "cannot read the file"),
        ("vault:kv/pg", "no secret resolver for scheme 'vault'"),
        ("databricks:scope/key", "only available on a Databricks cluster"),
        ("databricks:noslash", "must be 'databricks:SCOPE/KEY'"),
        ("plaintextpassword", "must be a reference"),
    ],
)
def test_unresolvable_references_say_what_to_do(host: PluginHost, reference: str,
                                                expected: str) -> None:
    with pytest.raises(SecretError, match=expected) as info:
        resolve(reference, host, source="pg1")
    assert "pg1" in str(info.value)


def test_plugin_resolver_wins_for_its_scheme() -> None:
    class Vault:
        @hookimpl
        def dataloader_resolve_secret(self, reference: str) -> str | None:
            return PW if reference.startswith("vault:") else None

        @hookimpl
        def dataloader_secret_schemes(self) -> list[str]:
            return ["vault"]

    host = PluginHost([Vault()])
    assert resolve("vault:kv/pg", host).reveal() == PW
    assert "vault" in host.secret_schemes()


def test_redact_removes_values_url_passwords_and_pairs() -> None:
    text = (f"auth failed for {PW}; url postgresql://bob:{PW}@db:5432/x; "
            f"password={PW} pwd: other")
    out = redact(text, Secret(PW))
    assert PW not in out
    assert "postgresql://bob:***@db" in out
    assert "other" not in out
