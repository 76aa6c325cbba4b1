"""Event generator core: Sheets CSVs in, realistic product-analytics events out.

The core never prints, prompts or reads the clock; the terminal front (``event_generator.py`` and
``frontend/``) uses only the names below.  Layers, each importing only from those above it:

- base: ``errors``, ``clock``, ``isotime``, ``limits``, ``exact``, ``params``, ``philox``
- inputs: ``csvtext``, ``spec``, ``headers``, ``localtime``, ``loaders``
- model: ``ranks``, ``streams``, ``draws``, ``distributions``, ``sites``, ``funnels``,
  ``properties``, ``users``, ``lives``, ``population``, ``walker``, ``batch``
- output: ``layout``, ``encoders``, ``pieces``, ``batchlines``, ``formats``, ``writers``, ``output``
- run: ``record``, ``chunks``, ``pool``, ``distributed``, ``runner``, ``check``
- delivery: ``delivery/`` (``--send``: the tools' rules, the run's files, HTTP, the journal)
"""

from .check import check_inputs, report_lines
from .clock import iso, parse_iso, to_ms
from .csvtext import printable, shown
from .delivery import TOOLS, SendConfig, SendProgress, SendResult, destination, send_run
from .delivery import tool_for as send_tool
from .delivery.runfiles import run_format
from .errors import (
    EXIT_CANCELLED,
    EXIT_OK,
    DeliveryError,
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
    DEFAULT_CHUNK_USERS,
    DEFAULT_DAYS,
    DEFAULT_MAX_FILE_MB,
    DEFAULT_USERS,
    EARLIEST_MS,
    LATEST_MS,
    MAX_DAYS,
    MAX_FILE_MB,
    MAX_SEED,
    MAX_USERS,
    MAX_WORKERS,
    MIN_FILE_MB,
)
from .loaders import load_events, load_flows, load_lookup, load_product
from .output import FolderState, Inspection, check_free, check_lookup_name, inspect
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
    "DEFAULT_CHUNK_USERS",
    "DEFAULT_DAYS",
    "DEFAULT_FORMAT",
    "DEFAULT_MAX_FILE_MB",
    "DEFAULT_USERS",
    "EARLIEST_MS",
    "EXIT_CANCELLED",
    "EXIT_OK",
    "FORMATS",
    "FORMAT_NAMES",
    "LATEST_MS",
    "MAX_DAYS",
    "MAX_FILE_MB",
    "MAX_SEED",
    "MAX_USERS",
    "MAX_WORKERS",
    "MIN_FILE_MB",
    "RUN_FILE",
    "TOOLS",
    "ContinueConfig",
    "DeliveryError",
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
    "SendConfig",
    "SendProgress",
    "SendResult",
    "UsageError",
    "carry_on",
    "check_free",
    "check_inputs",
    "check_lookup_name",
    "check_names",
    "destination",
    "generate",
    "inspect",
    "iso",
    "load_events",
    "load_flows",
    "load_lookup",
    "load_product",
    "new_seed",
    "parse_iso",
    "printable",
    "read_record",
    "report_lines",
    "run_format",
    "send_run",
    "send_tool",
    "shown",
    "to_ms",
]
