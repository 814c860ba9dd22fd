"""Shell completion (Typer's) for bash and zsh: the scripts the README tells users to
install, and the completions they answer with."""

from __future__ import annotations

import os
import subprocess
import sys


def _complete(**env: str) -> str:
    result = subprocess.run([sys.executable, "-m", "trackrecord"], capture_output=True, text=True, timeout=60,
                            env=os.environ | env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bash_completes_commands_and_subcommands() -> None:
    assert "stats" in _complete(_TRACKRECORD_COMPLETE="complete_bash", COMP_WORDS="trackrecord sta", COMP_CWORD="1").split()
    words = _complete(_TRACKRECORD_COMPLETE="complete_bash", COMP_WORDS="trackrecord kill-switch ", COMP_CWORD="2").split()
    assert {"status", "activate", "deactivate"} <= set(words)


def test_zsh_completes_with_descriptions() -> None:
    out = _complete(_TRACKRECORD_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="trackrecord cashflow ")
    assert '"add"' in out and '"void"' in out


def test_the_completion_scripts_name_the_command() -> None:
    assert "complete -o default -F _trackrecord_completion trackrecord" in _complete(_TRACKRECORD_COMPLETE="source_bash")
    assert "#compdef trackrecord" in _complete(_TRACKRECORD_COMPLETE="source_zsh")
