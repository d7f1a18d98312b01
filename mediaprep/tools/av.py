"""Every use of PyAV (libav, in-process): opening a container, the facts about its
streams, walking its packets, the first frame's rotation, a finished file's
duration and stream bytes, and writing an animation's frames as a lossless video.

An input is always handed to libav as an open Python file object with the demuxer
forced: no URL is parsed, so no protocol layer, no playlist or concat script is
ever followed, and no ffprobe binary is needed. The file object and the container
are opened and closed together (``open_media`` is a context manager): libav does
not own a file object it was given, so closing the container alone leaves it open.

libav's errors (``av.FFmpegError``) raised while reading an input never leave
this module: they become ``BadInput`` naming the file, or a "not found" result
where the caller can do without the fact.

PyAV is imported on first use, not with this module: loading libav maps about
100 MB of address space, which an image-only batch worker under a tight
``safety.memory_mb`` limit cannot spare (and never needs).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInput

if TYPE_CHECKING:
    import av.container
    from PIL import Image

# How much libav may read to find the streams (bytes) and their parameters (µs):
# enough for phone recordings with a late audio track, bounded for hostile files.
PROBE_OPTIONS = {"probesize": "5000000", "analyzeduration": "5000000"}
# The most a stream's only packet may last (a still shown for a while, one audio frame).
LAST_PACKET_CAP = 60.0
# Packets fed to the decoder, at most, to get the first video frame's display matrix.
ROTATION_PACKETS = 48
_DISPOSITION_DEFAULT = 1  # AV_DISPOSITION_DEFAULT
# AV_DISPOSITION_ATTACHED_PIC: cover art (an MP4 covr atom, an ID3 APIC frame, a FLAC
# PICTURE block), exposed by libav as a one-packet video stream. Not video.
_DISPOSITION_ATTACHED_PIC = 0x0400


@dataclass(frozen=True)
class AudioStream:
    """An audio stream as libav reads it."""
    index: int
    codec: str
    sample_rate: int
    channels: int
    bit_rate: int | None
    default: bool


@dataclass(frozen=True)
class VideoStream:
    """A video stream as libav reads it."""
    index: int
    codec: str
    profile: str | None
    width: int
    height: int
    pix_fmt: str | None
    fps: float | None  # average frame rate
    rotation: int  # degrees clockwise a player must rotate to show it upright
    default: bool
    color_trc: int | None = None  # transfer characteristic (AVColorTransferCharacteristic): 16 PQ, 18 HLG
    packets: int | None = None  # packets demuxed (main video stream only; 0 = a track without frames)
    attached_pic: bool = False  # cover art, not video (AV_DISPOSITION_ATTACHED_PIC)


@dataclass(frozen=True)
class PacketScan:
    """What the packets say, from demuxing alone (no decode but one frame)."""

    start: float | None  # earliest timestamp, seconds; None: no packet had one
    end: float  # latest timestamp plus duration, seconds
    rotation: int | None  # clockwise, from the first decoded frame of the rotation stream
    packets: int  # non-empty packets of the rotation stream
    stopped: bool  # the walk stopped early: the span passed ``max_span``

    @property
    def span(self) -> float:
        return max(0.0, self.end - self.start) if self.start is not None else 0.0


class Media:
    """An open input container; made by ``open_media``, valid inside its ``with``."""

    def __init__(self, container: av.container.InputContainer, path: Path, label: str) -> None:
        self._container = container
        self.path = path
        self.label = label  # the format as the user knows it, for messages: "MP4"

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        import av

        try:
            yield
        except av.FFmpegError as exc:
            raise BadInput(f"cannot read the {self.label} file: {_why(exc)}", path=self.path,
                           hint="the file is damaged or truncated; export or download it again") from exc

    @property
    def stream_count(self) -> int:
        return len(self._container.streams)

    @property
    def header_duration(self) -> float | None:
        """What the container header claims, in seconds (headers lie: see scan_packets)."""
        import av

        duration = self._container.duration
        return float(duration / av.time_base) if duration else None

    @property
    def tags(self) -> tuple[tuple[str, str], ...]:
        """Container metadata (title, comment, encoder, ...), sorted."""
        with self._reading():
            return tuple(sorted((str(k), str(v)) for k, v in self._container.metadata.items()))

    def streams(self) -> tuple[AudioStream | VideoStream, ...]:
        """The audio and video streams libav can decode, in file order. Streams of
        other types, or with a codec libav does not know (no codec context), are
        left out: not media we can use."""
        out: list[AudioStream | VideoStream] = []
        with self._reading():
            for s in self._container.streams:
                # Any: PyAV's stubs give every stream a codec context with the base
                # class's fields, while a stream of an unknown codec has none and the
                # audio and video contexts carry the fields read below.
                cc: Any = s.codec_context
                if cc is None:
                    continue
                disposition = int(getattr(s, "disposition", 0) or 0)
                default = bool(disposition & _DISPOSITION_DEFAULT)
                if s.type == "audio":
                    out.append(AudioStream(index=s.index, codec=cc.name,
                                           sample_rate=int(cc.sample_rate or 0),
                                           channels=int(getattr(cc, "channels", 0) or 0),
                                           bit_rate=int(cc.bit_rate) if cc.bit_rate else None,
                                           default=default))
                elif s.type == "video":
                    rate = s.average_rate or s.guessed_rate
                    out.append(VideoStream(index=s.index, codec=cc.name,
                                           profile=getattr(cc, "profile", None),
                                           width=int(cc.width or 0), height=int(cc.height or 0),
                                           pix_fmt=getattr(cc, "pix_fmt", None) or
                                           (cc.format.name if getattr(cc, "format", None) else None),
                                           fps=float(rate) if rate else None,
                                           rotation=_stream_rotation(s), default=default,
                                           color_trc=int(getattr(cc, "color_trc", 0) or 0) or None,
                                           attached_pic=bool(disposition & _DISPOSITION_ATTACHED_PIC)))
        return tuple(out)

    def undecodable(self) -> tuple[str, ...]:
        """The kinds ("audio", "video") of the streams libav has no decoder for."""
        kinds: list[str] = []
        with self._reading():
            for s in self._container.streams:
                context: Any = getattr(s, "codec_context", None)
                if s.type in ("audio", "video") and context is None:
                    kinds.append(str(s.type))
        return tuple(kinds)

    def scan_packets(self, max_span: float, rotation_stream: int | None = None,
                     skip: frozenset[int] = frozenset()) -> PacketScan:
        """Walk every packet (demux only): the time span they cover, so a header that
        claims ten hours over one second of data is not believed; stops as soon as
        the span passes ``max_span``. For stream ``rotation_stream`` also counts its
        non-empty packets and decodes its first frame for the display rotation.
        Streams in ``skip`` (cover art) are not media time.

        A packet's duration counts only as far as the next later timestamp of its
        stream, and never when negative: libav reports what the container says, and an
        Ogg page whose end trim is negative gives its last packet 2**32 - 223 ticks (a
        1.19 s sound read as 24 hours). The latest packet of a stream is capped by the
        largest step between the stream's timestamps (LAST_PACKET_CAP when it has
        only one)."""
        start: float | None = None
        end = 0.0
        # Seconds per tick, per stream: PyAV builds a new Fraction on every
        # packet.time_base, which cost more than the demuxing itself.
        ticks: dict[int, float | None] = {}
        # stream -> (start, duration) of its packet with the latest start so far (decode
        # order is not display order: B-frames come after the frame they precede), and
        # the largest step between such latest starts.
        latest: dict[int, tuple[float, float]] = {}
        steps: dict[int, float] = {}
        rotation: int | None = None
        fed = 0
        packets = 0
        with self._reading():
            for packet in self._container.demux():
                index = packet.stream_index
                if index in skip:
                    continue
                if rotation_stream is not None and index == rotation_stream and packet.size:
                    packets += 1
                    if rotation is None and fed < ROTATION_PACKETS:
                        fed += 1
                        rotation = _frame_rotation(packet)
                if index not in ticks:
                    ticks[index] = float(packet.time_base) if packet.time_base is not None else None
                tick = ticks[index]
                if packet.pts is None or tick is None:
                    continue
                t0 = packet.pts * tick
                before = latest.get(index)
                if before is None or t0 > before[0]:
                    if before is not None:
                        step = t0 - before[0]
                        steps[index] = max(steps.get(index, 0.0), step)
                        end = max(end, before[0] + min(before[1], step))
                    latest[index] = (t0, max(0.0, (packet.duration or 0) * tick))
                # An earlier start (a B-frame) ends before the latest one begins: nothing to add.
                start = t0 if start is None else min(start, t0)
                end = max(end, t0)
                if end - start > max_span:
                    return PacketScan(start, end, rotation, packets, stopped=True)
        for index, (t0, duration) in latest.items():
            end = max(end, t0 + min(duration, steps.get(index, LAST_PACKET_CAP)))
        stopped = start is not None and end - start > max_span
        return PacketScan(start, end, rotation, packets, stopped=stopped)

    def keyframe_times(self, stream_index: int, within: float) -> tuple[float, ...]:
        """Keyframe times of one stream, from packets only (no decode), relative to
        its first keyframe, up to ``within`` seconds past its first packet. Empty
        when libav fails part-way: the caller then cuts without keyframe hints."""
        import av

        out: list[float] = []
        try:
            stream = self._container.streams[stream_index]
            first: float | None = None
            for packet in self._container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                t = float(packet.pts * packet.time_base)
                first = t if first is None else min(first, t)
                if packet.is_keyframe:
                    out.append(t)
                if t - (first or 0.0) > within:
                    break
        except av.FFmpegError:
            return ()
        base = out[0] if out else 0.0
        return tuple(sorted(t - base for t in out))


@contextlib.contextmanager
def open_media(path: Path, demuxer: str, label: str, max_pixels: int | None = None) -> Iterator[Media]:
    """Open ``path`` with the demuxer forced, through a Python file object (no URL
    handling). ``label`` names the format in messages ("MP4"). ``max_pixels``: the
    largest frame libav may decode while it looks for the streams' parameters
    (opening decodes a few frames, before the caller can check their size). Raises
    BadInput when libav cannot open it."""
    import av

    options = dict(PROBE_OPTIONS)
    if max_pixels:
        options["max_pixels"] = str(max_pixels)  # PyAV passes it to every stream's decoder
    with open(path, "rb") as fh:
        try:
            # Tags are the file's own bytes: undecodable ones are shown, never fatal
            # (PyAV's default "strict" raised UnicodeDecodeError out of av.open).
            container = av.open(fh, mode="r", format=demuxer, options=options,
                                metadata_errors="replace")
        except av.FFmpegError as exc:
            raise BadInput(f"cannot read the {label} file: {_why(exc)}", path=path,
                           hint="the file is damaged, truncated or not really "
                           f"{label}; export or download it again") from exc
        try:
            yield Media(container, path, label)
        finally:
            container.close()


def _why(exc: Exception) -> str:
    """libav's reason, in words: PyAV's message adds the error number and the file
    name ("[Errno 1094995529] Invalid data found when processing input: 'x.wav'"),
    which the one-line error names already."""
    reason = getattr(exc, "strerror", None)
    return str(reason).strip().rstrip(".") if reason else str(exc)


def _stream_rotation(stream: Any) -> int:
    """Display-matrix rotation as phones write it, normalised to 0/90/180/270 clockwise."""
    rot = 0
    try:
        tag = stream.metadata.get("rotate")
        if tag is not None:
            rot = int(float(tag))
    except (TypeError, ValueError):
        rot = 0
    try:
        sd = getattr(stream, "side_data", None)
        if sd is not None and "DISPLAYMATRIX" in sd:
            rot = -int(round(float(sd["DISPLAYMATRIX"])))
    except Exception:  # noqa: BLE001 - side data shapes differ across PyAV versions
        pass
    return rot % 360


def _frame_rotation(packet: Any) -> int | None:
    """Clockwise rotation from the first decoded frame of ``packet``'s stream, or None
    while no frame has come out yet. PyAV 18 exposes the container's display matrix
    (what phones write in tkhd) only on decoded frames (``frame.rotation``, degrees
    counter-clockwise as ffmpeg's av_display_rotation_get), not on the stream."""
    import av

    try:
        frames = packet.decode()
    except av.FFmpegError:
        return None
    for frame in frames:
        ccw = int(round(float(getattr(frame, "rotation", 0) or 0)))
        return (-ccw) % 360
    return None


# ------------------------------------------------------------ our own outputs

def stream_bytes(path: Path, demuxer: str = "mp4") -> int:
    """Bytes of all packets in a file we wrote (the streams without the container)."""
    import av

    with open(path, "rb") as fh, av.open(fh, mode="r", format=demuxer) as c:
        return sum(p.size for p in c.demux() if p.size)


def duration_of(path: Path, demuxer: str = "mp4") -> float | None:
    """The duration a file we wrote declares, in seconds; None when it declares none
    or libav cannot read it."""
    import av

    try:
        with open(path, "rb") as fh, av.open(fh, mode="r", format=demuxer) as c:
            return float(c.duration / av.time_base) if c.duration else None
    except (av.FFmpegError, OSError):  # libav's own file errors are both
        return None


def write_lossless(frames: Iterable[tuple[Image.Image, int, int]], path: Path, size: tuple[int, int]) -> int:
    """RGB pictures, each with the millisecond it starts at and how many it lasts,
    into a lossless FFV1 Matroska file with exactly that timing (a variable frame
    rate): an animation made into a video source that the video fit reads like any
    other. Every packet carries its duration: ffmpeg otherwise takes the last
    frame to last as long as the gap before it. Returns the number of frames."""
    import av
    import numpy as np

    written = 0
    with av.open(str(path), mode="w", format="matroska") as out:
        stream: Any = out.add_stream("ffv1", rate=1000)
        stream.width, stream.height = size
        stream.pix_fmt = "bgr0"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        durations: dict[int, int] = {}
        for picture, start_ms, duration_ms in frames:
            frame = av.VideoFrame.from_ndarray(np.asarray(picture.convert("RGB")), format="rgb24")
            frame = frame.reformat(format="bgr0")
            frame.pts = start_ms
            frame.time_base = Fraction(1, 1000)
            durations[start_ms] = duration_ms
            for packet in stream.encode(frame):
                packet.duration = durations.pop(packet.pts, packet.duration)
                out.mux(packet)
            written += 1
        for packet in stream.encode():
            packet.duration = durations.pop(packet.pts, packet.duration)
            out.mux(packet)
    return written
