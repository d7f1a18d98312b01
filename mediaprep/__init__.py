"""mediaprep: make photos, voice notes and videos ready to send over WeChat
through the IMIconnect (Webex Connect) messaging API."""
from __future__ import annotations

from .attachment import Attachment
from .batching.progress import BatchProgress
from .batching.results import BatchResult, FileResult
from .batching.run import batch
from .errors import (
    BadInput,
    CannotComply,
    ExitCode,
    LimitExceeded,
    MediaprepError,
    MissingDependency,
    OutcomeUnknown,
    OutputError,
    RemoteError,
    RemoteTimeout,
    RequestInvalid,
    ToolFailed,
    ToolTimeout,
    UnsupportedType,
    UsageError,
)
from .model import OutputFile, PrepareOptions, PrepareResult
from .pipeline import prepare
from .preflight.check import CheckReport, Violation, check
from .profiles import BUILTIN as PROFILES
from .profiles import Profile, RoleLimits, get_profile, load_profile_file
from .send.request import RequestProblem, build_requests, validate_request

__version__ = "0.1.0"

__all__ = [
    "Attachment", "BadInput", "CannotComply", "CheckReport", "ExitCode", "LimitExceeded",
    "MediaprepError", "MissingDependency", "OutputError", "OutputFile", "PROFILES",
    "PrepareOptions", "PrepareResult", "Profile", "RoleLimits", "ToolFailed", "ToolTimeout",
    "UnsupportedType", "UsageError", "Violation", "check", "get_profile", "load_profile_file",
    "prepare", "__version__",
    "OutcomeUnknown", "RemoteError", "RemoteTimeout", "RequestInvalid", "RequestProblem",
    "build_requests", "validate_request",
    "BatchProgress", "BatchResult", "FileResult", "batch",
]
