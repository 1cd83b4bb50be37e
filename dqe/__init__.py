"""dqe: a data-quality engine for LLM fine-tuning data.

``dqe.check`` and ``dqe.filter`` are the Python API (the CLI is a thin layer over them). The
rest of this namespace is the plugin surface: everything a rule, feature, record format,
template, renderer or classifier needs, so that a plugin (the built-in ones included) imports
``dqe`` and, in its tests, ``dqe.testing``, and never a module inside the package. Imports are
lazy so that ``dqe --help`` starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    # the Python API
    "check": "dqe.api",
    "filter": "dqe.api",
    "convert": "dqe.api",
    "FilterResult": "dqe.api",
    "Report": "dqe.report",
    "load_plugins": "dqe.plugins",
    # hooks
    "hookimpl": "dqe.hookspecs",
    "hookspec": "dqe.hookspecs",
    # errors a plugin raises or a caller catches
    "ConfigError": "dqe.errors",
    "InputError": "dqe.errors",
    "OutputError": "dqe.errors",
    "PluginError": "dqe.errors",
    "RecordError": "dqe.errors",
    "RenderError": "dqe.errors",
    # rules
    "Rule": "dqe.rule",
    "RecordRule": "dqe.rule",
    "DatasetRule": "dqe.rule",
    "RuleOptions": "dqe.rule",
    "DatasetResult": "dqe.rule",
    "GateMetric": "dqe.rule",
    "worst_exchange": "dqe.rule",
    "in_batch_order": "dqe.rule",
    # what a run shares: config, packs, tokenizer, features
    "Context": "dqe.context",
    "loaded_dir": "dqe.context",
    "Feature": "dqe.feature",
    # records and the columns of a batch
    "Record": "dqe.records",
    "Turn": "dqe.records",
    "batch_schema": "dqe.records",
    "exchanges": "dqe.text",
    "turn_texts": "dqe.text",
    "turn_name": "dqe.text",
    "snippet": "dqe.text",
    "without_code": "dqe.text",
    # rule packs: marker lists and patterns as TOML
    "check_regex": "dqe.patterns",
    "pack_value": "dqe.patterns",
    "string_list": "dqe.patterns",
    "pack_languages": "dqe.patterns",
    "marker_pattern": "dqe.patterns",
    "pattern_list": "dqe.patterns",
    "pack_categories": "dqe.patterns",
    "selected_names": "dqe.patterns",
    # labels: categories, domains, languages
    "Classifier": "dqe.classifier",
    "label_key": "dqe.classifier",
    # record formats, templates, renderers
    "RecordFormat": "dqe.formats.base",
    "Normalized": "dqe.formats.base",
    "text_field": "dqe.formats.base",
    "Template": "dqe.templates",
    "Renderer": "dqe.render.base",
    # what the built-in rules share with their features and with each other
    "UNCERTAIN_CATEGORY": "dqe.features.category",
    "category_aliases": "dqe.features.category",
    "GENERAL_DOMAIN": "dqe.features.domain",
    "known_languages": "dqe.features.language",
    "language_bits": "dqe.features.language",
    "normalize_code": "dqe.features.language",
    "plausible_names": "dqe.features.language",
    "wilson": "dqe.gate",
    "UNDETERMINED_LANGUAGE": "dqe.langid",
    "BucketIndex": "dqe.minhash",
    "Buckets": "dqe.minhash",
    "Sets": "dqe.minhash",
    "agreement": "dqe.minhash",
    "jaccard": "dqe.minhash",
    "ragged": "dqe.minhash",
    "best_first": "dqe.quotas",
    "category_quotas": "dqe.quotas",
    "over_quota": "dqe.quotas",
    "vertical_quota": "dqe.quotas",
    "FileInfo": "dqe.reader",
    "Reader": "dqe.reader",
    "SimilarityOptions": "dqe.similarity",
    "boilerplate_lines": "dqe.similarity",
    "leave_out": "dqe.similarity",
    "shingled": "dqe.similarity",
    "without": "dqe.similarity",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from dqe.api import FilterResult, check, convert, filter
    from dqe.classifier import Classifier, label_key
    from dqe.context import Context, loaded_dir
    from dqe.errors import ConfigError, InputError, OutputError, PluginError, RecordError, RenderError
    from dqe.feature import Feature
    from dqe.features.category import UNCERTAIN_CATEGORY, category_aliases
    from dqe.features.domain import GENERAL_DOMAIN
    from dqe.features.language import known_languages, language_bits, normalize_code, plausible_names
    from dqe.formats.base import Normalized, RecordFormat, text_field
    from dqe.gate import wilson
    from dqe.hookspecs import hookimpl, hookspec
    from dqe.langid import UNDETERMINED_LANGUAGE
    from dqe.minhash import BucketIndex, Buckets, Sets, agreement, jaccard, ragged
    from dqe.patterns import (
        check_regex,
        marker_pattern,
        pack_categories,
        pack_languages,
        pack_value,
        pattern_list,
        selected_names,
        string_list,
    )
    from dqe.plugins import load_plugins
    from dqe.quotas import best_first, category_quotas, over_quota, vertical_quota
    from dqe.reader import FileInfo, Reader
    from dqe.records import Record, Turn, batch_schema
    from dqe.render.base import Renderer
    from dqe.report import Report
    from dqe.rule import (
        DatasetResult,
        DatasetRule,
        GateMetric,
        RecordRule,
        Rule,
        RuleOptions,
        in_batch_order,
        worst_exchange,
    )
    from dqe.similarity import SimilarityOptions, boilerplate_lines, leave_out, shingled, without
    from dqe.templates import Template
    from dqe.text import exchanges, snippet, turn_name, turn_texts, without_code


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dqe' has no attribute {name!r}")
