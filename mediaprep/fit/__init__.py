"""fit: make a file satisfy its role's limits.

One module per role family (image.py, voice.py, video.py), each with a pure
planner beside it (``*_plan.py``: numbers in, a plan out, no I/O). Every entry
point has the same shape, the :class:`Fitter` protocol, so the pipeline's table
of fitters is checked by mypy. The loaders import a fitter only when it is used:
a photo never pays for numpy's or PyAV's import.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from ..model import Fitted, PrepareOptions, ProgressFn, Role
    from ..preflight.probe import ImageInfo, MediaInfo
    from ..preflight.sniff import Sniffed
    from ..profiles import Profile

InfoT = TypeVar("InfoT", contravariant=True)


class Fitter(Protocol[InfoT]):
    """Make the outputs for one input in ``out_dir``; raise a MediaprepError if it cannot."""

    def __call__(self, sniffed: Sniffed, info: InfoT, profile: Profile, role: Role,
                 opts: PrepareOptions, out_dir: Path, progress: ProgressFn | None = None, /) -> Fitted: ...


def image_fitter() -> Fitter[ImageInfo]:
    from .image import prepare_image
    return prepare_image


def animation_fitter() -> Fitter[ImageInfo]:
    from .animation import prepare_animation
    return prepare_animation


def voice_fitter() -> Fitter[MediaInfo]:
    from .voice import prepare_voice
    return prepare_voice


def video_fitter() -> Fitter[MediaInfo]:
    from .video import prepare_video
    return prepare_video


def video_thumb_fitter() -> Fitter[MediaInfo]:
    from .video_thumb import prepare_thumb
    return prepare_thumb
