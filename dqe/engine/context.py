"""What rules and features share during a run: the config, the tokenizer, the template."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dqe.engine.config import LoadedConfig
from dqe.engine.rulepacks import Packs
from dqe.errors import ConfigError
from dqe.guard import blame

if TYPE_CHECKING:
    import polars as pl

    from dqe.engine.classifier import Classifier, Target
    from dqe.engine.feature import Feature
    from dqe.engine.plugins import Registry
    from dqe.engine.templates import Template
    from dqe.engine.tokenizers import Tokenizer
    from dqe.io.reader import FileInfo


class Context:
    def __init__(self, loaded: LoadedConfig, registry: Registry):
        self.loaded = loaded
        self.config = loaded.config
        self.registry = registry
        self._classifiers: dict[str, Classifier] = {}
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
    def tokenizer(self) -> Tokenizer:
        from dqe.engine.tokenizers import load_tokenizer

        return load_tokenizer(self.config.tokenizer)

    @cached_property
    def template(self) -> Template:
        try:
            return self.registry.templates[self.config.template]
        except KeyError:
            known = ", ".join(sorted(self.registry.templates))
            raise ConfigError(f"unknown template '{self.config.template}' (key 'template'); known: {known}") from None

    def feature(self, name: str) -> Feature:
        """A new instance of the feature registered as ``name``: a rule that reads a feature's
        helpers (its evidence, its text hashes for another data set) asks for it by name, as it
        asks for its columns with ``needs``, instead of importing another plugin's module."""
        try:
            cls = self.registry.features[name]
        except KeyError:
            known = ", ".join(sorted(self.registry.features))
            raise ConfigError(f"no feature '{name}' is registered; known: {known}") from None
        return cls(self)

    def classifier(self, target: Target) -> Classifier:
        """The configured category or domain classifier, made once per run."""
        if target not in self._classifiers:
            name = getattr(self.config.classifiers, target)
            cls = self.registry.classifiers.get(name)
            if cls is None or cls.target != target:
                known = ", ".join(sorted(n for n, c in self.registry.classifiers.items() if c.target == target))
                raise ConfigError(f"'classifiers.{target}': no {target} classifier '{name}'; known: {known or 'none'}")
            with blame(
                f"{target} classifier '{name}' (plugin '{self.registry.plugin_of('classifier', name)}') __init__"
            ):
                self._classifiers[target] = cls(self)
        return self._classifiers[target]


def loaded_dir(loaded: LoadedConfig) -> Path:
    """Where relative paths in the config are rooted: the config file's folder, or here."""
    return loaded.path.parent if loaded.path else Path.cwd()
