"""The types of dqe's lazy namespace (``__init__.py`` imports each name when first used)."""

from dqe.api import FilterResult, check, convert, filter
from dqe.engine.choices import lists_options, picked_choice
from dqe.engine.classifier import (
    SPACELESS,
    SPACELESS_TEXT,
    Classifier,
    alias_table,
    classifier_for,
    label_key,
    labelled,
    language_unions,
    normalize_labels,
    regex_union,
)
from dqe.engine.context import Context, loaded_dir
from dqe.engine.feature import Feature, new_feature
from dqe.engine.gate import wilson
from dqe.engine.ledger import fit_lists, read_ledger
from dqe.engine.patterns import (
    check_regex,
    marker_pattern,
    marker_patterns,
    pack_categories,
    pack_languages,
    pack_value,
    pattern_list,
    selected_names,
    string_list,
)
from dqe.engine.plugins import load_plugins
from dqe.engine.quotas import best_first, category_quotas, over_quota, vertical_quota
from dqe.engine.rule import (
    DatasetResult,
    DatasetRule,
    EncodingRule,
    GateMetric,
    RecordRule,
    Rule,
    RuleOptions,
    in_batch_order,
    worst_exchange,
)
from dqe.engine.templates import Template
from dqe.engine.turns import (
    CODE_LINE,
    WORD_UNIT,
    bare_code,
    blank,
    collapse_spaces,
    exchanges,
    snippet,
    turn_name,
    turn_texts,
    without_code,
    without_urls,
)
from dqe.errors import ConfigError, InputError, OutputError, PluginError, RecordError, RenderError
from dqe.features.category import UNCERTAIN_CATEGORY, category_aliases
from dqe.features.domain import GENERAL_DOMAIN
from dqe.features.langid import UNDETERMINED_LANGUAGE
from dqe.features.language import known_languages, language_bits, normalize_code, plausible_names
from dqe.features.minhash import BucketIndex, Buckets, Sets, agreement, jaccard, ragged
from dqe.features.similarity import (
    SimilarityOptions,
    answer_openings,
    boilerplate_lines,
    is_sentence,
    leave_out,
    numbers_differ,
    opening_only,
    shingled,
    stock_openings,
    without,
)
from dqe.hookspecs import hookimpl, hookspec
from dqe.io.formats.base import Normalized, RecordFormat, text_field
from dqe.io.reader import FileInfo, Reader
from dqe.llm.client import CallFailed, ChatClient, EndpointUnavailable, Reply, unfenced, without_credentials
from dqe.records import Record, Turn, batch_schema
from dqe.report.model import Report
from dqe.report.renderer import Renderer
from dqe.report.section import Plot, ReportSection

__version__: str
__all__ = [
    "__version__",
    "check",
    "filter",
    "convert",
    "FilterResult",
    "Report",
    "load_plugins",
    "hookimpl",
    "hookspec",
    "ConfigError",
    "InputError",
    "OutputError",
    "PluginError",
    "RecordError",
    "RenderError",
    "Rule",
    "RecordRule",
    "EncodingRule",
    "DatasetRule",
    "RuleOptions",
    "DatasetResult",
    "GateMetric",
    "worst_exchange",
    "in_batch_order",
    "Context",
    "loaded_dir",
    "Feature",
    "new_feature",
    "Record",
    "Turn",
    "batch_schema",
    "exchanges",
    "turn_texts",
    "turn_name",
    "snippet",
    "blank",
    "collapse_spaces",
    "without_code",
    "bare_code",
    "without_urls",
    "WORD_UNIT",
    "CODE_LINE",
    "picked_choice",
    "lists_options",
    "check_regex",
    "pack_value",
    "string_list",
    "pack_languages",
    "marker_pattern",
    "marker_patterns",
    "pattern_list",
    "pack_categories",
    "selected_names",
    "Classifier",
    "label_key",
    "classifier_for",
    "RecordFormat",
    "Normalized",
    "text_field",
    "Template",
    "Renderer",
    "ReportSection",
    "Plot",
    "SPACELESS",
    "SPACELESS_TEXT",
    "alias_table",
    "labelled",
    "language_unions",
    "normalize_labels",
    "regex_union",
    "wilson",
    "best_first",
    "category_quotas",
    "over_quota",
    "vertical_quota",
    "UNCERTAIN_CATEGORY",
    "category_aliases",
    "GENERAL_DOMAIN",
    "UNDETERMINED_LANGUAGE",
    "known_languages",
    "language_bits",
    "normalize_code",
    "plausible_names",
    "BucketIndex",
    "Buckets",
    "Sets",
    "agreement",
    "jaccard",
    "ragged",
    "SimilarityOptions",
    "boilerplate_lines",
    "answer_openings",
    "is_sentence",
    "leave_out",
    "numbers_differ",
    "opening_only",
    "shingled",
    "stock_openings",
    "without",
    "read_ledger",
    "fit_lists",
    "FileInfo",
    "Reader",
    "ChatClient",
    "Reply",
    "CallFailed",
    "EndpointUnavailable",
    "unfenced",
    "without_credentials",
]
