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
            ("what is photosynthesis?", "photosynthesis is how plants make food."),
            ("what is photosynthesis in plants?", "photosynthesis is how plants make food."),
        ]
    )
    # set, even or odd, number ("bits" is not "bit"); set, even, bit, number; photosynthesis, plants
    assert echoes.sizes.tolist() == [3, 3, 4, 1, 2]
    left, right = np.array([0, 0, 3]), np.array([1, 2, 4])
    # even against odd; the same ask reworded; a word one question adds that both answers hold
    assert asks_apart(echoes, masks, left, right).tolist() == [True, False, False]
