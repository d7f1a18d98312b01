"""`mediaprep --version`: mediaprep's version and the versions of the tools it uses,
the ones a bug report needs (which ffmpeg, which JPEG encoder, which libmagic).

Cheap on purpose: versions come from the packages' own ``__version__`` (reading
installed metadata imports importlib.metadata and the email parser, ~20 ms), and
only the small modules that know each tool are imported (never numpy, PyAV or the
fit code).
Each line reports its own failure, so a missing tool never hides the others.
"""
from __future__ import annotations

import platform
from collections.abc import Callable

from .. import __version__
from ..errors import MediaprepError


def _ffmpeg() -> str:
    from ..tools.ffmpeg import get_ffmpeg

    ff = get_ffmpeg()
    return f"ffmpeg {ff.version} ({ff.source}: {ff.path})"


def _jpeg() -> str:
    from PIL import __version__ as pillow
    from PIL import features

    try:
        import pyjpegli
    except ImportError:
        encoder = "libjpeg through Pillow (pyjpegli not installed)"
    else:
        encoder = f"jpegli (pyjpegli {pyjpegli.__version__})"
    if features.check_feature("libjpeg_turbo"):
        decoder = f"libjpeg-turbo {features.version('libjpeg_turbo')}"
    else:
        decoder = f"libjpeg {features.version('jpg')}"
    return f"JPEG: encoder {encoder}; decoder {decoder} (Pillow {pillow})"


def _libmagic() -> str:
    from ..tools.magic import libmagic_version

    return f"libmagic {libmagic_version()}"


def _line(what: str, fn: Callable[[], str]) -> str:
    try:
        return fn()
    except MediaprepError as exc:
        return f"{what}: not available: {exc.one_line()}"
    except (ImportError, OSError) as exc:
        return f"{what}: not available: {exc}"


def version_lines() -> list[str]:
    return [
        f"mediaprep {__version__} (Python {platform.python_version()}, "
        f"{platform.system() or 'unknown system'})",
        _line("ffmpeg", _ffmpeg),
        _line("JPEG", _jpeg),
        _line("libmagic", _libmagic),
    ]
