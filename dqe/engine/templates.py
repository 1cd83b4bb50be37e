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
    # Alpaca keeps a record's ``input`` apart from its instruction: when set, the trainer puts
    # the input in the user turn through this wrapping (and uses the second default system
    # prompt) instead of the reader's "instruction\ninput".
    input: str | None = None
    default_system_with_input: str | None = None

    @model_validator(mode="after")
    def _each_wraps_content(self) -> Template:
        for role in ("system", "user", "assistant", "tool_call", "tool", "input"):
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

    def user_content(self, instruction: str, query: str | None) -> str:
        """The user turn of an Alpaca record from its instruction and input, kept apart."""
        if not query:
            return instruction
        if self.input is None:
            return f"{instruction}\n{query}"  # as the reader normalizes it
        prefix, _, suffix = self.input.partition("{content}")
        return f"{instruction}{prefix}{query}{suffix}"

    def system_prompt(self, system: str | None, has_input: bool = False) -> str | None:
        """The record's system prompt, else the template's default (for records with input)."""
        if system:
            return system
        if has_input and self.default_system_with_input:
            return self.default_system_with_input
        return self.default_system

    def render(self, system: str | None, turns: list[tuple[str, str]], eos: str = "") -> str:
        parts = []
        system = self.system_prompt(system)
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
        summary="### Instruction: / ### Input: / ### Response: (Stanford Alpaca, with and without input)",
        default_system=(
            "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        ),
        default_system_with_input=(
            "Below is an instruction that describes a task, paired with an input that provides "
            "further context. Write a response that appropriately completes the request."
        ),
        user="### Instruction:\n{content}\n\n### Response:\n",
        assistant="{content}\n\n",
        input="\n\n### Input:\n{content}",
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
