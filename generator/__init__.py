"""Event generator core: Sheets CSVs in, realistic product-analytics events out.

The core never prints, prompts or reads the clock; the terminal front (``event_generator.py`` and
``frontend/``) uses only the names below.  Its modules sit in layers (base, inputs, model, output,
run, delivery), each importing only from the layers beneath it: the README's *Development* draws
them, and ``tests/test_imports.py`` holds both the code and that picture to them.
"""

from .check import check_inputs, report_lines
from .clock import iso, parse_iso, to_ms
from .csvtext import printable, shown
from .delivery import (
    TOOLS,
    SendConfig,
    SendProgress,
    SendResult,
    check_send,
    destination,
    send_run,
)
from .delivery import tool_for as send_tool
from .delivery.runfiles import run_format
from .distributed import check_address
from .errors import (
    EXIT_CANCELLED,
    EXIT_OK,
    DeliveryError,
    GeneratorError,
    InputError,
    NoRoomError,
    OutputError,
    OutputExistsError,
    OutputInUseError,
    UsageError,
)
from .estimate import (
    Calibration,
    Estimate,
    calibrate,
    check_room,
    estimate_continue,
    estimate_run,
    size_text,
)
from .formats import DEFAULT_FORMAT, FORMATS, check_names
from .layout import RUN_FILE
from .limits import (
    BOUNDS,
    CALIBRATION_USERS,
    CONFIRM_BYTES,
    CONFIRM_SECONDS,
    DATE_RANGE,
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
    default_workers,
)
from .loaders import load_events, load_flows, load_lookup, load_product
from .output import (
    FolderState,
    Inspection,
    check_continuable,
    check_free,
    check_lookup_name,
    check_writable,
    free_space,
    inspect,
)
from .params import MODEL_VERSION, Params
from .record import RunRecord, read_record
from .runner import (
    ContinueConfig,
    ProgressUpdate,
    RunConfig,
    RunResult,
    carry_on,
    check_continue,
    generate,
)
from .spec import EventsSpec, FlowsSpec, LookupSpec, Product
from .streams import new_seed

FORMAT_NAMES = tuple(FORMATS)

__all__ = [
    "BOUNDS",
    "CALIBRATION_USERS",
    "CONFIRM_BYTES",
    "CONFIRM_SECONDS",
    "DATE_RANGE",
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
    "MODEL_VERSION",
    "RUN_FILE",
    "TOOLS",
    "Calibration",
    "ContinueConfig",
    "DeliveryError",
    "Estimate",
    "EventsSpec",
    "FlowsSpec",
    "FolderState",
    "GeneratorError",
    "InputError",
    "Inspection",
    "LookupSpec",
    "NoRoomError",
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
    "calibrate",
    "carry_on",
    "check_address",
    "check_continuable",
    "check_continue",
    "check_free",
    "check_inputs",
    "check_lookup_name",
    "check_names",
    "check_room",
    "check_send",
    "check_writable",
    "default_workers",
    "destination",
    "estimate_continue",
    "estimate_run",
    "free_space",
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
    "size_text",
    "to_ms",
]
