"""`--verbose` is accepted on every command, before or after a command's action
(`weights sources --verbose`, `samples --verbose list`)."""

import argparse

import pytest

from tfdeepfake.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path=("tfdeepfake",)):
    """(command words, parser) of every command and action under ``parser``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _parsers(sub, (*path, name))


def test_every_command_and_action_takes_verbose():
    missing = [" ".join(words) for words, sub in _parsers(build_parser())
               if "--verbose" not in sub._option_string_actions]
    assert not missing


@pytest.mark.parametrize(("argv", "verbose"), [
    (["weights", "sources", "--verbose"], True),
    (["weights", "--verbose", "sources"], True),
    (["weights", "sources"], False),
    (["weights", "import", "icpr2020dfdc", "a.pth", "--out", "o", "--verbose"], True),
    (["samples", "list", "--verbose"], True),
    (["samples", "--verbose", "fetch"], True),
    (["samples", "list"], False),
    (["models", "--verbose"], True),
])
def test_verbose_after_or_before_the_action(argv, verbose):
    assert build_parser().parse_args(argv).verbose is verbose
