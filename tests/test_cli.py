"""The `scratchnn` command line: its commands and their arguments."""

import pytest

from scratchnn import cli


def test_demo_command_runs_the_demo_with_its_arguments(monkeypatch):
    calls = []
    import scratchnn.demo
    monkeypatch.setattr(scratchnn.demo, "run", lambda out, epochs: calls.append((out, epochs)))
    assert cli.main(["demo", "--out", "somewhere", "--epochs", "3"]) == 0
    assert calls == [("somewhere", 3)]


def test_unknown_command_is_refused():
    with pytest.raises(SystemExit):
        cli.main(["dance"])
