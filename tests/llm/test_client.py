"""dqe's one chat client, as dqe augment and the judge plugin use it (the judge's tests hold its
retries, timeouts, redirects and credentials against a server of their own)."""

from __future__ import annotations

import pytest

from dqe import CallFailed, ChatClient, unfenced


@pytest.mark.parametrize(
    ("content", "inside"),
    [
        ('```json\n{"a": 1}\n```', '{"a": 1}\n'),
        ('Here:\n```jsonl\n{"a": 1}\n{"a": 2}\n```\nDone.', '{"a": 1}\n{"a": 2}\n'),
        ("```\n[1, 2]\n```", "[1, 2]\n"),
        ('{"a": 1}', '{"a": 1}'),
    ],
)
def test_unfenced_is_what_the_first_code_fence_holds_or_the_reply(content, inside):
    assert unfenced(content) == inside


def test_a_refused_key_says_where_the_callers_key_comes_from(chat_server):
    chat_server.script = [401]
    client = ChatClient(chat_server.base_url, "writer", "sk-x", retries=0, key_hint="set $WRITER_KEY")
    with pytest.raises(Exception, match=r"the endpoint refused the key \(HTTP 401: .*\); set \$WRITER_KEY$"):
        client.complete([{"role": "user", "content": "hi"}])


def test_a_parse_error_is_retried_and_named_as_the_parser_words_it(chat_server):
    chat_server.script = ["not a number", "still not", "7"]

    def number(content: str) -> int:
        if not content.isdigit():
            raise ValueError(f"malformed number: {content!r}")
        return int(content)

    client = ChatClient(chat_server.base_url, "writer", retries=2, retry_delay=0.01)
    assert client.complete([{"role": "user", "content": "a number"}], number)[1] == 7
    chat_server.script = ["no", "no"]
    with pytest.raises(CallFailed, match=r"^malformed number: 'no' \(after 2 attempts\)$"):
        ChatClient(chat_server.base_url, "writer", retries=1, retry_delay=0.01).complete([], number)
