"""Prompt templates: how a conversation becomes the text a model is trained on.

Token-length rules count the formatted example, and the trainer formats and masks with the same
templates, so what was checked is what gets trained. Built-ins are registered at the bottom
through the same hook a plugin uses.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from dqe.hookspecs import hookimpl


class Template(BaseModel):
    """Each role's text wraps its content at ``{content}``."""

    model_config = ConfigDict(frozen=True)

    name: str
    summary: str = ""
    system: str = "{content}\n\n"
    default_system: str | None = None  # used when a record has no system prompt
    user: str
    assistant: str
    tool_call: str | None = None  # defaults to the assistant's wrapping
    tool: str | None = None  # defaults to the user's wrapping
    eos_after_assistant: bool = True  # the tokenizer's end-of-text token closes each answer

    @model_validator(mode="after")
    def _each_wraps_content(self) -> Template:
        for role in ("system", "user", "assistant", "tool_call", "tool"):
            text = getattr(self, role)
            if text is not None and text.count("{content}") != 1:
                raise ValueError(f"template '{self.name}': '{role}' must contain '{{content}}' once")
        return self

    def wrap(self, role: str) -> tuple[str, str]:
        """(prefix, suffix) around a turn of ``role``."""
        text = getattr(self, role, None)
        if text is None:
            text = self.assistant if role == "tool_call" else self.user
        prefix, _, suffix = text.partition("{content}")
        return prefix, suffix

    def render(self, system: str | None, turns: list[tuple[str, str]], eos: str = "") -> str:
        parts = []
        system = system or self.default_system
        if system:
            prefix, suffix = self.wrap("system")
            parts.append(f"{prefix}{system}{suffix}")
        for role, content in turns:
            prefix, suffix = self.wrap(role)
            parts.append(f"{prefix}{content}{suffix}")
            if role == "assistant" and self.eos_after_assistant:
                parts.append(eos)
        return "".join(parts)


BUILTIN_TEMPLATES = (
    Template(
        name="chatml",
        summary="<|im_start|>role ... <|im_end|> (Qwen, many chat models)",
        system="<|im_start|>system\n{content}<|im_end|>\n",
        user="<|im_start|>user\n{content}<|im_end|>\n",
        assistant="<|im_start|>assistant\n{content}<|im_end|>\n",
        tool="<|im_start|>tool\n{content}<|im_end|>\n",
        eos_after_assistant=False,
    ),
    Template(
        name="alpaca",
        summary="### Instruction: / ### Response: (Stanford Alpaca)",
        default_system=(
            "Below is an instruction that describes a task. "
            "Write a response that appropriately completes the request."
        ),
        user="### Instruction:\n{content}\n\n### Response:\n",
        assistant="{content}\n\n",
    ),
    Template(
        name="phi3",
        summary="<|user|> ... <|end|> <|assistant|> ... <|end|> (Phi-3)",
        system="<|system|>\n{content}<|end|>\n",
        user="<|user|>\n{content}<|end|>\n",
        assistant="<|assistant|>\n{content}<|end|>\n",
        eos_after_assistant=False,
    ),
    Template(
        name="plain",
        summary="contents joined by newlines, no markup",
        system="{content}\n",
        user="{content}\n",
        assistant="{content}\n",
    ),
)


@hookimpl
def dqe_register_templates(register):
    for template in BUILTIN_TEMPLATES:
        register(template)
