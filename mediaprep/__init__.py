"""mediaprep: make photos, voice notes and videos ready to send over WeChat
through the IMIconnect (Webex Connect) messaging API.

The public names are imported on first use (PEP 562): ``import mediaprep`` costs
milliseconds, and a program that only checks pictures never imports the batch
machinery, PyAV or the HTTP client.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
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

# public name -> the module that defines it
_WHERE: dict[str, str] = {
    "Attachment": ".attachment",
    "BatchProgress": ".batching.progress",
    "BatchResult": ".batching.results",
    "FileResult": ".batching.results",
    "batch": ".batching.run",
    "BadInput": ".errors",
    "CannotComply": ".errors",
    "ExitCode": ".errors",
    "LimitExceeded": ".errors",
    "MediaprepError": ".errors",
    "MissingDependency": ".errors",
    "OutcomeUnknown": ".errors",
    "OutputError": ".errors",
    "RemoteError": ".errors",
    "RemoteTimeout": ".errors",
    "RequestInvalid": ".errors",
    "ToolFailed": ".errors",
    "ToolTimeout": ".errors",
    "UnsupportedType": ".errors",
    "UsageError": ".errors",
    "OutputFile": ".model",
    "PrepareOptions": ".model",
    "PrepareResult": ".model",
    "prepare": ".pipeline",
    "CheckReport": ".preflight.check",
    "Violation": ".preflight.check",
    "check": ".preflight.check",
    "Profile": ".profiles",
    "RoleLimits": ".profiles",
    "get_profile": ".profiles",
    "load_profile_file": ".profiles",
    "RequestProblem": ".send.request",
    "build_requests": ".send.request",
    "validate_request": ".send.request",
}


def __getattr__(name: str) -> Any:
    if name == "batch":  # its workers need POSIX: say so in one line, not an ImportError
        from .posix import require_posix

        require_posix("mediaprep.batch()")
    if name == "PROFILES":
        value: Any = importlib.import_module(".profiles", __name__).BUILTIN
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Attachment",
    "BadInput",
    "BatchProgress",
    "BatchResult",
    "CannotComply",
    "CheckReport",
    "ExitCode",
    "FileResult",
    "LimitExceeded",
    "MediaprepError",
    "MissingDependency",
    "OutcomeUnknown",
    "OutputError",
    "OutputFile",
    "PROFILES",
    "PrepareOptions",
    "PrepareResult",
    "Profile",
    "RemoteError",
    "RemoteTimeout",
    "RequestInvalid",
    "RequestProblem",
    "RoleLimits",
    "ToolFailed",
    "ToolTimeout",
    "UnsupportedType",
    "UsageError",
    "Violation",
    "__version__",
    "batch",
    "build_requests",
    "check",
    "get_profile",
    "load_profile_file",
    "prepare",
    "validate_request",
]
