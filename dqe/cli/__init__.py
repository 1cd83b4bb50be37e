"""The ``dqe`` command: a thin layer over ``dqe.api``.

Exit codes: 0 the gate passes, 1 it fails, 2 a usage, config or plugin error, an input that
cannot be read at all, or a rule that raised. Heavy modules (polars, the engine) are imported
inside the commands so that ``dqe --help`` stays fast.
"""

from __future__ import annotations

import sys

import click

from dqe import __version__
from dqe.cli.augment import augment
from dqe.cli.data import check, convert, diff, filter_
from dqe.cli.info import plugins, rule, rules
from dqe.cli.model import eval_, train
from dqe.cli.score import score


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dqe")
def main() -> None:
    """dqe: check, filter and gate LLM fine-tuning (SFT) data, then train only on what passed.

    \b
    dqe check data.jsonl                      report; exit 0 pass, 1 fail, 2 error
    dqe filter data.jsonl --passed ok.jsonl --rejected bad.jsonl
    dqe train --model PATH --data ok.jsonl --template alpaca --out runs/exp1
    dqe eval runs/exp1                        loss, ROUGE, rules on answers: base vs tuned
    dqe augment data.jsonl --out gen --base-url URL --model NAME   grow the missing categories
    dqe score data.jsonl --model PATH -o scores.jsonl   perplexity with/without the question, IFD
    dqe rules / dqe rule DQ101 / dqe plugins
    """
    from dqe.report.terminal import TerminalStream

    # Everything a command writes, the report, messages, what plugins print, can quote data:
    # no control sequence in it reaches the terminal (or the CI log that plays it back).
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, TerminalStream):
            setattr(sys, name, TerminalStream(stream))


for _command in (check, diff, filter_, rules, rule, plugins, convert, train, eval_, score, augment):
    main.add_command(_command)
