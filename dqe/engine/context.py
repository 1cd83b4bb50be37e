"""What rules and features share during a run: the config, the tokenizer, the template.

Every rule, feature and classifier is given the run's ``Context``, so it sits below them: it
knows the plugin registry only as the ``Plugins`` it reads (the classifier and feature made
for a run come from ``classifier_for`` and ``new_feature``, beside their base classes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dqe.engine.config import LoadedConfig
from dqe.engine.rulepacks import Packs
from dqe.errors import ConfigError

if TYPE_CHECKING:
    import polars as pl

    from dqe.engine.encoding import TrainerEncoding
    from dqe.engine.scores import ScoreFile
    from dqe.engine.templates import Template
    from dqe.engine.tokenizers import Tokenizer
    from dqe.io.reader import FileInfo


class Plugins(Protocol):
    """What the context reads of the plugin registry (``dqe.engine.plugins.Registry``)."""

    templates: Mapping[str, Template]
    features: Mapping[str, Any]  # feature classes by name
    classifiers: Mapping[str, Any]  # classifier classes by name
    formats: Mapping[str, Any]  # record formats by name

    def plugin_of(self, kind: str, key: str) -> str: ...


class Context:
    def __init__(self, loaded: LoadedConfig, registry: Plugins):
        self.loaded = loaded
        self.config = loaded.config
        self.registry = registry
        # what is made once per run and shared by the rules that ask (the configured classifiers)
        self.shared: dict[str, Any] = {}
        # Quota cuts that a later selection stage plays forward, by what they cut: a selection
        # rule publishes its cut here (DQ411 "category": the records of a frame over their
        # category's quota), so that another one (DQ421) plans around it without knowing the rule.
        self.quota_cuts: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {}
        self.files: list[FileInfo] = []  # the inputs of the current run, indexed by ``_file``

    def sources(self, files: Iterable[int], lines: Iterable[int]) -> list[str]:
        """``path:line`` of records (``_file``, ``_line``), for messages naming another record."""
        paths = [f.path for f in self.files]
        return [f"{paths[f]}:{line}" for f, line in zip(files, lines, strict=True)]

    @cached_property
    def packs(self) -> Packs:
        base = loaded_dir(self.loaded)
        return Packs([base / p for p in self.config.rule_packs])

    def pack(self, name: str) -> dict:
        """A declarative rule pack (``rules/NAME.toml``) with the user's packs layered on."""
        return self.packs.get(name)

    @cached_property
    def encoding(self) -> TrainerEncoding | None:
        """The trainer's encoding (``model`` or ``train-config``), None when neither is given;
        loading it imports transformers, so nothing asks for it unless one is."""
        from dqe.engine.encoding import TrainerEncoding, encoding_settings

        settings = encoding_settings(self.config, loaded_dir(self.loaded))
        if settings is None:
            return None
        return TrainerEncoding(settings, self.registry.templates, self.config.columns)

    @cached_property
    def scores(self) -> ScoreFile | None:
        """The score file of ``dqe score`` (``scores``), None when none is given; refused when it
        was made with another model or encoding than the check names. No torch is imported."""
        from dqe.engine.encoding import encoding_settings
        from dqe.engine.scores import read_scores

        if self.config.scores is None:
            return None
        base = loaded_dir(self.loaded)
        scores = read_scores(base / Path(self.config.scores).expanduser())
        settings = encoding_settings(self.config, base)
        if settings is not None:
            scores.refuse_other_encoding(settings)
        return scores

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """The configured tokenizer, or the model's when the trainer's encoding is checked."""
        from dqe.engine.tokenizers import load_tokenizer

        if self.encoding is not None:
            return self.encoding.counter
        return load_tokenizer(self.config.tokenizer)

    @property
    def template_name(self) -> str:
        """The template tokens are counted with: the trainer's when its encoding is checked."""
        return self.encoding.settings.template if self.encoding is not None else self.config.template

    @cached_property
    def template(self) -> Template:
        name = self.template_name
        try:
            return self.registry.templates[name]
        except KeyError:
            known = ", ".join(sorted(self.registry.templates))
            raise ConfigError(f"unknown template '{name}' (key 'template'); known: {known}") from None


def loaded_dir(loaded: LoadedConfig) -> Path:
    """Where relative paths in the config are rooted: the config file's folder, or here."""
    return loaded.path.parent if loaded.path else Path.cwd()
