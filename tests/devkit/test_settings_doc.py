"""The settings documents are generated from the settings classes and committed as generated."""

from __future__ import annotations

from devkit import settings_doc


def test_env_example_and_the_configuration_table_are_up_to_date() -> None:
    hint = "run `python -m devkit.settings_doc --write`"
    assert settings_doc.ENV_EXAMPLE.read_text() == settings_doc.env_example(), hint
    assert settings_doc.CONFIGURATION.read_text() == settings_doc.configuration_table(), hint


def test_every_setting_of_every_service_is_listed() -> None:
    listed = {line.split("=", 1)[0].lstrip("# ") for line in settings_doc.env_example().splitlines() if "=" in line}
    for _, cls, _ in settings_doc.SECTIONS:
        assert {name.upper() for name in cls.model_fields} - {"SERVICE_NAME", "PORT"} <= listed, cls.__name__


def test_every_compose_variable_is_listed_and_the_required_ones_named() -> None:
    text = settings_doc.env_example()
    listed = {line.split("=", 1)[0].lstrip("# ") for line in text.splitlines() if "=" in line}
    variables = settings_doc.compose_variables()
    assert {"REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "BIND_ADDRESS", "GRAFANA_ANONYMOUS"} <= set(variables)
    assert set(variables) <= listed
    assert "without a default: REDIS_PASSWORD, POSTGRES_PASSWORD, GRAFANA_ADMIN_PASSWORD." in text
