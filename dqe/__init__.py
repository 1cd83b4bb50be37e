"""dqe: a data-quality engine for LLM fine-tuning data.

``dqe.check`` and ``dqe.filter`` are the Python API (the CLI is a thin layer over them). The
rest of this namespace is the plugin surface: everything a rule, feature, record format,
template, renderer or classifier needs, so that a plugin (the built-in ones included) imports
``dqe`` and, in its tests, ``dqe.testing``, and never a module inside the package. Imports are
lazy so that ``dqe --help`` starts fast; ``__init__.pyi`` names their types for type checkers
and editors.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    # the Python API
    "check": "dqe.api",
    "filter": "dqe.api",
    "convert": "dqe.api",
    "FilterResult": "dqe.api",
    "Report": "dqe.report.model",
    "load_plugins": "dqe.engine.plugins",
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
    "Rule": "dqe.engine.rule",
    "RecordRule": "dqe.engine.rule",
    "EncodingRule": "dqe.engine.rule",
    "DatasetRule": "dqe.engine.rule",
    "RuleOptions": "dqe.engine.rule",
    "DatasetResult": "dqe.engine.rule",
    "GateMetric": "dqe.engine.rule",
    "worst_exchange": "dqe.engine.rule",
    "in_batch_order": "dqe.engine.rule",
    # what a run shares: config, packs, tokenizer, features
    "Context": "dqe.engine.context",
    "loaded_dir": "dqe.engine.context",
    "Feature": "dqe.engine.feature",
    "new_feature": "dqe.engine.feature",
    # records and the columns of a batch
    "Record": "dqe.records",
    "Turn": "dqe.records",
    "batch_schema": "dqe.records",
    "exchanges": "dqe.engine.turns",
    "turn_texts": "dqe.engine.turns",
    "turn_name": "dqe.engine.turns",
    "snippet": "dqe.engine.turns",
    "blank": "dqe.engine.turns",
    "collapse_spaces": "dqe.engine.turns",
    "without_code": "dqe.engine.turns",
    "bare_code": "dqe.engine.turns",
    "without_urls": "dqe.engine.turns",
    "without_trace": "dqe.engine.turns",
    "TRACED": "dqe.engine.turns",
    "unclosed_trace": "dqe.engine.turns",
    "WORD_UNIT": "dqe.engine.turns",
    "CODE_LINE": "dqe.engine.turns",
    "picked_choice": "dqe.engine.choices",
    "lists_options": "dqe.engine.choices",
    "listed_options": "dqe.engine.choices",
    "is_options_line": "dqe.engine.choices",
    # rule packs: marker lists and patterns as TOML
    "check_regex": "dqe.engine.patterns",
    "pack_value": "dqe.engine.patterns",
    "string_list": "dqe.engine.patterns",
    "pack_languages": "dqe.engine.patterns",
    "marker_pattern": "dqe.engine.patterns",
    "marker_patterns": "dqe.engine.patterns",
    "count_markers": "dqe.engine.patterns",
    "pattern_list": "dqe.engine.patterns",
    "pack_categories": "dqe.engine.patterns",
    "selected_names": "dqe.engine.patterns",
    # labels: categories, domains, languages
    "Classifier": "dqe.engine.classifier",
    "label_key": "dqe.engine.classifier",
    "classifier_for": "dqe.engine.classifier",
    # record formats, templates, renderers
    "RecordFormat": "dqe.io.formats.base",
    "Normalized": "dqe.io.formats.base",
    "text_field": "dqe.io.formats.base",
    "turn_text": "dqe.io.formats.base",
    "Template": "dqe.engine.templates",
    "Renderer": "dqe.report.renderer",
    "ReportSection": "dqe.report.section",
    "Plot": "dqe.report.section",
    # what the built-in rules share with their features and with each other
    "SPACELESS": "dqe.engine.classifier",
    "SPACELESS_TEXT": "dqe.engine.classifier",
    "alias_table": "dqe.engine.classifier",
    "labelled": "dqe.engine.classifier",
    "language_unions": "dqe.engine.classifier",
    "normalize_labels": "dqe.engine.classifier",
    "regex_union": "dqe.engine.classifier",
    "wilson": "dqe.engine.gate",
    "best_first": "dqe.engine.quotas",
    "category_quotas": "dqe.engine.quotas",
    "over_quota": "dqe.engine.quotas",
    "vertical_quota": "dqe.engine.quotas",
    "UNCERTAIN_CATEGORY": "dqe.features.category",
    "category_aliases": "dqe.features.category",
    "GENERAL_DOMAIN": "dqe.features.domain",
    "UNDETERMINED_LANGUAGE": "dqe.features.langid",
    "known_languages": "dqe.features.language",
    "language_bits": "dqe.features.language",
    "normalize_code": "dqe.features.language",
    "plausible_names": "dqe.features.language",
    "BucketIndex": "dqe.features.minhash",
    "Buckets": "dqe.features.minhash",
    "Sets": "dqe.features.minhash",
    "agreement": "dqe.features.minhash",
    "jaccard": "dqe.features.minhash",
    "ragged": "dqe.features.minhash",
    "SimilarityOptions": "dqe.features.similarity",
    "boilerplate_lines": "dqe.features.similarity",
    "answer_openings": "dqe.features.similarity",
    "last_answers": "dqe.features.similarity",
    "asked_words": "dqe.features.asks",
    "asks_apart": "dqe.features.asks",
    "chance_likeness": "dqe.features.similarity",
    "is_sentence": "dqe.features.similarity",
    "leave_out": "dqe.features.similarity",
    "numbers_differ": "dqe.features.similarity",
    "opening_only": "dqe.features.similarity",
    "shingled": "dqe.features.similarity",
    "stock_openings": "dqe.features.similarity",
    "without": "dqe.features.similarity",
    "read_ledger": "dqe.engine.ledger",
    "fit_lists": "dqe.engine.ledger",
    "FileInfo": "dqe.io.reader",
    "Reader": "dqe.io.reader",
    # the OpenAI-compatible chat client (the judge plugin's and dqe augment's)
    "ChatClient": "dqe.llm.client",
    "Reply": "dqe.llm.client",
    "CallFailed": "dqe.llm.client",
    "EndpointUnavailable": "dqe.llm.client",
    "unfenced": "dqe.llm.client",
    "without_credentials": "dqe.llm.client",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dqe' has no attribute {name!r}")
