"""`mediaprep --version`: mediaprep's version and the versions of the tools it uses,
the ones a bug report needs (which ffmpeg, which JPEG encoder, which libmagic).

Cheap on purpose: package versions come from their installed metadata, and only the
small modules that know each tool are imported (never numpy, PyAV or the fit code).
Each line reports its own failure, so a missing tool never hides the others.
"""
from __future__ import annotations

import platform
from collections.abc import Callable
from importlib import metadata

from ..errors import MediaprepError


def _dist(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _ffmpeg() -> str:
    from ..tools.ffmpeg import get_ffmpeg

    ff = get_ffmpeg()
    return f"ffmpeg {ff.version} ({ff.source}: {ff.path})"


def _jpeg() -> str:
    from PIL import features

    jpegli = _dist("pyjpegli")
    encoder = f"jpegli (pyjpegli {jpegli})" if jpegli else "libjpeg through Pillow (pyjpegli not installed)"
    if features.check_feature("libjpeg_turbo"):
        decoder = f"libjpeg-turbo {features.version('libjpeg_turbo')}"
    else:
        decoder = f"libjpeg {features.version('jpg')}"
    return f"JPEG: encoder {encoder}; decoder {decoder} (Pillow {_dist('pillow')})"


def _libmagic() -> str:
    from ..tools.magic import libmagic_version

    return f"libmagic {libmagic_version()} (python-magic {_dist('python-magic')})"


def _line(what: str, fn: Callable[[], str]) -> str:
    try:
        return fn()
    except MediaprepError as exc:
        return f"{what}: not available: {exc.one_line()}"
    except (ImportError, OSError) as exc:
        return f"{what}: not available: {exc}"


def version_lines() -> list[str]:
    return [
        f"mediaprep {_dist('mediaprep') or 'unknown'} (Python {platform.python_version()}, "
        f"{platform.system() or 'unknown system'})",
        _line("ffmpeg", _ffmpeg),
        _line("JPEG", _jpeg),
        _line("libmagic", _libmagic),
    ]
