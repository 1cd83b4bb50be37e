"""Multiple-choice evaluation: the questions a user brings, and the choice each model picks by
its log-likelihood."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dqe.engine.encoding import IGNORE, Encoded
from dqe.errors import InputError
from dqe.eval.multiple_choice import choice_metrics, read_questions, score_questions

CHOICES = Path(__file__).parent / "data" / "choices.jsonl"


def test_a_choices_file_is_read_with_letters_and_indexes_as_answers():
    questions = read_questions(CHOICES)
    assert [q.index for _, q in questions] == [0, 1, 1, 2, 3, 1]  # 0, "B", "b", 2, "D", 1
    assert questions[1][0] == f"{CHOICES}:2" and questions[1][1].subject == "astronomy"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "Q?", "choices": ["a", "b"]}', r":2: missing key 'answer'"),
        (
            '{"question": "Q?", "choices": ["a", "b", "c"], "answer": "D"}',
            r":2: 'answer': 'D' is not one of the 3 choices \(a letter A to C",
        ),
        (
            '{"question": "Q?", "choices": ["a", "b"], "answer": 2}',
            r":2: 'answer': index 2 is not one of the 2 choices \(0 to 1\)",
        ),
        ('{"question": "Q?", "choices": ["a"], "answer": 0}', r":2: 'choices': List should have at least 2 items"),
        ('{"question": "Q?", "choices": ["a", " "], "answer": 0}', r":2: 'choices': Value error, choice B is blank"),
        (
            '{"question": " ", "choices": ["a", "b"], "answer": 0}',
            r":2: 'question': Value error, the question is blank",
        ),
        ('{"question": "Q?", "choices": "ab", "answer": 0}', r":2: 'choices': Input should be a valid list"),
        (
            '{"question": "Q?", "choices": ["a", "b"], "answer": true}',
            r":2: 'answer.int': Input should be a valid integer",
        ),
        ('{"question": "Q?", "choices": ["a", "b"], "answer": 0', r":2: malformed JSON"),
        ('["Q?", ["a", "b"], 0]', r":2: expected a JSON object"),
    ],
)
def test_a_bad_question_is_an_error_naming_its_line_and_key(tmp_path, line, message):
    path = tmp_path / "mc.jsonl"
    path.write_text('{"question": "Fine?", "choices": ["yes", "no"], "answer": "A"}\n' + line + "\n")
    with pytest.raises(InputError, match=f"^{path}{message}"):
        read_questions(path)


def test_an_empty_or_missing_choices_file_is_an_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(InputError, match="empty.jsonl: the choices file is empty"):
        read_questions(tmp_path / "empty.jsonl")
    with pytest.raises(InputError, match="nothing.jsonl: no such choices file"):
        read_questions(tmp_path / "nothing.jsonl")


# A model whose outputs the test controls: every position predicts the same distribution over
# a character vocabulary, so a text's log-likelihood is the sum of its characters' log-probabilities.
VOCAB = " ?abcdefghijklmnopqrstuvwxyz"
PROBS = dict.fromkeys(VOCAB, 0.01) | {"a": 0.5, "b": 0.1}


def char_encode(records):
    """Question unlearned, answer learned: what the run's encoder makes, one token a character."""
    out = []
    for r in records:
        prompt, answer = [VOCAB.index(c) for c in r.question], [VOCAB.index(c) for c in r.answer]
        labels = [IGNORE] * len(prompt) + answer
        out.append(Encoded(np.asarray(prompt + answer, dtype=np.int32), np.asarray(labels, dtype=np.int32)))
    return out


@pytest.fixture
def controlled(torch_extra):
    torch = torch_extra
    from types import SimpleNamespace

    log_probs = torch.log(torch.tensor([PROBS[c] for c in VOCAB]))
    log_probs -= torch.logsumexp(log_probs, 0)  # a distribution: the cross-entropy is -log p

    class Decoder(torch.nn.Module):
        def forward(self, input_ids, attention_mask=None, use_cache=False):
            return SimpleNamespace(last_hidden_state=log_probs.expand(*input_ids.shape, len(VOCAB)))

    class Controlled(torch.nn.Module):
        config = SimpleNamespace()

        def __init__(self):
            super().__init__()
            self.decoder = Decoder()
            self.head = torch.nn.Linear(len(VOCAB), len(VOCAB), bias=False)
            self.head.weight.data = torch.eye(len(VOCAB))  # logits = the log-probabilities

        def get_decoder(self):
            return self.decoder

        def get_output_embeddings(self):
            return self.head

    return Controlled()


def test_the_choice_with_the_highest_likelihood_is_picked_summed_and_per_byte(torch_extra, controlled, tmp_path):
    from dqe.train.batches import BatchPlan
    from dqe.train.loss import item_logliks

    path = tmp_path / "mc.jsonl"
    path.write_text(
        '{"question": "which?", "choices": ["aaaa", "b", "ab"], "answer": 0, "subject": "letters"}\n'
        '{"question": "which?", "choices": ["c", "a"], "answer": "B", "subject": "letters"}\n'
    )

    def logliks(model_name, items):
        plan = BatchPlan([len(e) for e in items], seq_len=64, rows=2, packing=False, seed=0)
        return item_logliks(
            controlled, items, plan, pad_id=0, device=torch_extra.device("cpu"), dtype=torch_extra.float32, chunk=4
        )

    report = score_questions(read_questions(path), char_encode, 64, logliks, ["base", "tuned"], path)
    first = report.items[0]
    a, b = math.log(PROBS["a"] / sum(PROBS.values())), math.log(PROBS["b"] / sum(PROBS.values()))
    assert first.loglik["base"] == pytest.approx([4 * a, b, a + b], rel=1e-5)  # the answer's tokens only
    # the sum favours the short "b"; per byte, "aaaa" (0.5 a character) wins, as it should
    assert first.picked["base"] == {"acc": 1, "acc_norm": 0}
    assert report.items[1].picked["tuned"] == {"acc": 1, "acc_norm": 1}
    assert report.accuracy == {"base": {"acc": 0.5, "acc_norm": 1.0}, "tuned": {"acc": 0.5, "acc_norm": 1.0}}
    assert [(s.subject, s.questions) for s in report.subjects] == [("letters", 2)]
    assert [m["name"] for m in choice_metrics(report)] == ["choices_acc", "choices_acc_norm"]


def test_a_question_longer_than_seq_len_is_left_out_and_said(tmp_path):
    path = tmp_path / "mc.jsonl"
    path.write_text('{"question": "which?", "choices": ["a", "bbbbbbbbbbbbbbbbbbbb"], "answer": 0}\n')
    report = score_questions(read_questions(path), char_encode, 16, lambda m, items: [0.0] * len(items), ["base"], path)
    assert report.evaluated == 0 and report.skipped == [f"{path}:1: longer than seq-len (16 tokens) with a choice"]
    assert report.accuracy == {"base": {"acc": None, "acc_norm": None}} and report.subjects == []
