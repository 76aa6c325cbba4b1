"""Event generator core: Sheets CSVs in, realistic product-analytics events out.

The core never prints, prompts or reads the clock; ``event_generator.py`` is the terminal front.
"""

from .errors import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_FAILURE,
    EXIT_OK,
    GeneratorError,
    InputError,
    OutputError,
    OutputExistsError,
    UsageError,
)
from .loaders import load_product
from .params import Params
from .runner import ProgressUpdate, RunConfig, RunResult, generate

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CANCELLED",
    "EXIT_FAILURE",
    "EXIT_OK",
    "GeneratorError",
    "InputError",
    "OutputError",
    "OutputExistsError",
    "Params",
    "ProgressUpdate",
    "RunConfig",
    "RunResult",
    "UsageError",
    "generate",
    "load_product",
]
