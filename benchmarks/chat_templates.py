"""What the trainer learns under each chat template of a folder of ``.jinja`` files.

Real models' chat templates differ in how they open an answer and what they keep of it (a
generation prompt that ends in a blank line, R1's ``<think>`` opening, traces dropped). Each
template is set on a small byte-level BPE built here (no weights can be downloaded) and three
conversations are encoded with ``ChatTemplateEncoder``, as ``dqe train`` and ``dqe check
--model`` do, with ``learn-all-turns`` off and on; it prints the text learned of each, the turns
whose reasoning trace the template left out (DQ109), or why it refused the record (DQ105).
Needs the ``[train]`` extra (transformers builds the tokenizer)::

    python benchmarks/chat_templates.py FOLDER     # e.g. a clone of chujiezheng/chat_templates' chat_templates/
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from dqe.engine.encoding import IGNORE, ChatTemplateEncoder
from dqe.records import Record, Turn
from dqe.train.scratch import build_tokenizer

CONVERSATIONS = [
    [("user", "What is 2+2?"), ("assistant", "4.")],
    [
        ("user", "Hi"),
        ("assistant", "Hello."),
        ("user", "And 3+3?"),
        ("assistant", "<think>\nThree and three.\n</think>\n\n6."),
    ],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    texts = [content for conversation in CONVERSATIONS for _, content in conversation] * 20
    tokenizer = build_tokenizer(texts, vocab_size=300)
    records = [
        Record(
            system="Be terse." if i else None,
            turns=[Turn(role=r, content=c) for r, c in conv],
            format="openai",
            original={},
        )
        for i, conv in enumerate(CONVERSATIONS)
    ]
    refused = 0
    templates = sorted(args.folder.glob("*.jinja"))
    for path in templates:
        shaped = copy.deepcopy(tokenizer)
        shaped.chat_template = path.read_text("utf-8")
        for learn_all in (False, True):
            encoder = ChatTemplateEncoder(shaped, system=None, learn_all_turns=learn_all)
            shown = []
            for encoded in encoder.encode(records):
                if isinstance(encoded, str):
                    refused += 1
                    shown.append(f"refused: {encoded}")
                    continue
                learned = shaped.decode([int(i) for i in encoded.labels if i != IGNORE])
                shown.append(
                    f"{learned!r}"
                    + (f" trace lost in turns {list(encoded.lost_traces)}" if encoded.lost_traces else "")
                )
            print(f"{path.stem} learn-all-turns={str(learn_all).lower()}: " + " | ".join(shown))
    print(f"{len(templates)} templates, {refused} of {2 * len(templates) * len(records)} encodings refused")


if __name__ == "__main__":
    main()
