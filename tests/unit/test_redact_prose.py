"""Redaction masks credentials, never the ordinary words of an explanation.

``--secret ERP_PASSWORD`` printed "secret: *** be a reference": the ``key: value`` net
took the first word of the sentence for a password. Any explanation must survive whole,
whatever its first word, while credentials in every common form still go.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main
from dataloader_sdk.secrets import Secret, redact

PROSE = [
    "secret: must be a reference such as 'env:NAME', never the secret itself",
    "  - secret: should name an environment variable",
    "password: incorrect for user 'loader' (check the secret it references)",
    "token: expired at 10:00; renew it",
    "secret: Must be a reference",
    "api_key: rotated yesterday, use the new reference",
    "password: isn't allowed in the URL; use control_secret",
    "client_secret: well-formed but rejected by the server",
    "secret: required",
    "password: missing.",
    "credentials: looked up in env:ERP_PASSWORD",
    "secret: env:ERP_PASSWORD",
    "Authorization: header missing from the request",
    "DB_PASSWORD: not set in this shell, export it first",
    "source 'erp': secret: contains spaces, which a reference cannot",
]

SECRETS = [
    ("password=hunter2", "password=***"),
    ("password: hunter2", "password: ***"),
    ("password: 's3cr3t words'", "password: '***'"),
    ('{"password": "plain"}', '{"password": "***"}'),
    ("secret: ERP_PASSWORD must be a reference", "secret: *** must be a reference"),
    ("token: abc123def then more words", "token: *** then more words"),
    ("password: MiXeDCase more", "password: *** more"),
    ("PGPASSWORD=x9 psql", "PGPASSWORD=*** psql"),
    ("postgresql://u:pw@db/x", "postgresql://u:***@db/x"),
    ("Authorization: Bearer eyJhbGciOi", "Authorization: ***"),
    ("pwd={a;b c}", "pwd={***}"),
    ("password: hunter", "password: ***"),  # one word, end of text: a password
]


@pytest.mark.parametrize("text", PROSE)
def test_prose_is_left_whole(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(("text", "expected"), SECRETS)
def test_credentials_are_still_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_known_secret_is_masked_even_when_it_looks_like_a_word() -> None:
    # The shape net keeps "password: letmein please" (it reads as prose); the value net
    # masks a secret the caller knows wherever it stands.
    assert redact("password: letmein please", Secret("letmein")) == "password: *** please"


def test_secret_given_as_a_name_prints_the_whole_explanation(tmp_path: object) -> None:
    runner = CliRunner()
    home = str(tmp_path)
    assert runner.invoke(main, ["--home", home, "init"]).exit_code == 0
    result = runner.invoke(main, ["--home", home, "sources", "add", "erp", "--db-type",
                                  "postgresql", "--host", "h", "--database", "d", "--username",
                                  "u", "--secret", "ERP_PASSWORD"])
    assert result.exit_code == 2
    assert "secret: must be a reference" in result.stderr
    assert "***" not in result.stderr
