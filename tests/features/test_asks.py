import numpy as np
import polars as pl

from dqe.features.asks import asked_words, asks_apart
from dqe.features.text import TURN_SEPARATOR


def words_of(pairs: list[tuple[str, str]]):
    texts = pl.Series([f"{q}{TURN_SEPARATOR}{a}" for q, a in pairs])
    return asked_words(pl.Series([q.split(" / ")[0] for q, _ in pairs]), texts, pl.Series([a for _, a in pairs]))


def test_the_words_a_question_turns_on_are_those_its_answer_repeats_and_the_other_record_never_uses():
    echoes, masks = words_of(
        [
            ("set all even bits of a given number.", "def even_bit_set_number(n): ..."),
            ("set all odd bits of a given number.", "def odd_bit_set_number(n): ..."),
            ("set every even bit of a number.", "def even_bit_set_number(n): ..."),
            ("why did the french attempt to build the canal fail?", "the french attempt failed for three reasons."),
            ("why did the french effort to build the canal fail?", "the french effort failed for three reasons."),
            ("write php for the factorial of a given number. / 5", "function factorial($number) {"),
            ("write php for the factorial of an integer. / 5", "function factorial($n) {"),
        ]
    )
    # set, even or odd, number ("bits" is not "bit"); set, even, bit, number; none for prose (it follows
    # a rewording as well); factorial, number; factorial
    assert echoes.sizes.tolist() == [3, 3, 4, 0, 0, 2, 1]
    left, right = np.array([0, 0, 3, 5]), np.array([1, 2, 4, 6])
    # even against odd; the same ask reworded; a copy whose prose follows its rewording; a rewording
    # one program names its variable after ("number"), the other side's words all still there
    assert asks_apart(echoes, masks, left, right).tolist() == [True, False, False, False]
