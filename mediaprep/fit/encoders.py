"""The JPEG encoders the image fit can use, behind one signature (picture, quality ->
bytes): jpegli (baseline 4:2:0, which scores higher than libjpeg-turbo at the same
bytes) when the pyjpegli wheel is there, Pillow's libjpeg-turbo otherwise."""
from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image


def encode_jpegli(im: Image.Image, quality: int) -> bytes:
    import pyjpegli

    return bytes(pyjpegli.encode(im.tobytes(), im.width, im.height, quality))


def encode_pillow(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=True, progressive=False, subsampling=2)
    return buf.getvalue()


def pick_encoder() -> Callable[[Image.Image, int], bytes]:
    try:
        import pyjpegli  # noqa: F401
    except ImportError:
        return encode_pillow
    return encode_jpegli
