"""Event generator core: Sheets CSVs in, realistic product-analytics events out.

The core never prints, prompts or reads the clock; the terminal front (``event_generator.py`` and
``frontend/``) uses only the names below.  Layers, each importing only from those above it:

- base: ``errors``, ``clock``, ``limits``, ``params``
- inputs: ``csvtext``, ``spec``, ``loaders``
- model: ``ranks``, ``streams``, ``users``, ``walker``
- output: ``layout``, ``encoders``, ``formats``, ``writers``, ``output``
- run: ``record``, ``chunks``, ``pool``, ``distributed``, ``runner``, ``check``
"""

from .check import CheckReport, check_inputs, report_lines
from .clock import iso, parse_iso, to_ms
from .errors import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_FAILURE,
    EXIT_OK,
    GeneratorError,
    InputError,
    OutputError,
    OutputExistsError,
    OutputInUseError,
    UsageError,
)
from .formats import DEFAULT_FORMAT, FORMATS, check_names
from .layout import RUN_FILE
from .limits import (
    DEFAULT_DAYS,
    DEFAULT_MAX_FILE_MB,
    DEFAULT_USERS,
    MAX_DAYS,
    MAX_FILE_MB,
    MAX_SEED,
    MAX_USERS,
    MAX_WORKERS,
)
from .loaders import load_events, load_flows, load_lookup, load_product
from .output import FolderState, Inspection, check_free, describe, inspect
from .params import Params
from .record import RunRecord, read_record
from .runner import (
    ContinueConfig,
    ProgressUpdate,
    RunConfig,
    RunResult,
    carry_on,
    generate,
)
from .spec import EventsSpec, FlowsSpec, LookupSpec, Product
from .streams import new_seed

FORMAT_NAMES = tuple(FORMATS)

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_FORMAT",
    "DEFAULT_MAX_FILE_MB",
    "DEFAULT_USERS",
    "EXIT_BAD_INPUT",
    "EXIT_CANCELLED",
    "EXIT_FAILURE",
    "EXIT_OK",
    "FORMATS",
    "FORMAT_NAMES",
    "MAX_DAYS",
    "MAX_FILE_MB",
    "MAX_SEED",
    "MAX_USERS",
    "MAX_WORKERS",
    "RUN_FILE",
    "CheckReport",
    "ContinueConfig",
    "EventsSpec",
    "FlowsSpec",
    "FolderState",
    "GeneratorError",
    "InputError",
    "Inspection",
    "LookupSpec",
    "OutputError",
    "OutputExistsError",
    "OutputInUseError",
    "Params",
    "Product",
    "ProgressUpdate",
    "RunConfig",
    "RunRecord",
    "RunResult",
    "UsageError",
    "carry_on",
    "check_free",
    "check_inputs",
    "check_names",
    "describe",
    "generate",
    "inspect",
    "iso",
    "load_events",
    "load_flows",
    "load_lookup",
    "load_product",
    "new_seed",
    "parse_iso",
    "read_record",
    "report_lines",
    "to_ms",
]
