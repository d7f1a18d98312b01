"""The size+quality choice of mediaprep/fit/image.py, on a real photo: every output
decoded and checked against the budget, the chosen size and the exhaustive answer."""
from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, ImageStat, JpegImagePlugin

import mediaprep
from mediaprep.errors import CannotComply
from mediaprep.fit import chroma, encoders, image_decode, resize
from mediaprep.fit import image as fit
from mediaprep.fit.image_search import QualitySearch
from mediaprep.preflight.probe import probe_image
from mediaprep.preflight.sniff import sniff
from mediaprep.profiles import WECHAT, RoleLimits

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A real photograph (Debian mate-backgrounds), shown 1800x1125 after EXIF rotation."""
    with Image.open(TESTDATA / "images/photo_rotated_gps.jpg") as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG"
    assert not im.info.get("progressive") and not im.info.get("progression"), "must be baseline"
    assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0
    im.load()
    return im


@pytest.mark.parametrize("budget", [128_000, 64_000, 20_000, 6_000, 2_500])
def test_never_over_budget_and_size_follows_budget(photo, budget):
    enc, encodes = fit.fit_jpeg(photo, budget)
    assert len(enc.data) <= budget
    im = _decoded(enc.data)
    assert im.size == (enc.width, enc.height)
    assert abs(im.width / im.height - 1800 / 1125) < 0.01  # aspect kept
    if budget >= 64_000:
        # The phone's size, at a quality that leaves no room for one step more.
        assert max(im.size) == fit.DISPLAY_SIDE
        assert enc.quality >= 80
        assert len(encoders.encode_jpegli(resize.to_side(photo, fit.DISPLAY_SIDE), enc.quality + 1)) > budget \
            or enc.quality == fit.MAX_QUALITY
    else:
        # Too small a budget for 1080 px at FLOOR_QUALITY: a smaller picture, not mush.
        assert max(im.size) < fit.DISPLAY_SIDE
        assert enc.quality >= fit.MIN_QUALITY
    assert encodes <= 12


def test_quality_search_finds_the_exhaustive_answer_in_few_encodes(photo):
    img = resize.to_side(photo, fit.DISPLAY_SIDE)
    sizes = {q: len(encoders.encode_jpegli(img, q)) for q in range(fit.FLOOR_QUALITY, fit.MAX_QUALITY + 1)}
    total = 0
    for budget in (sizes[45] + 1, sizes[80] - 1, sizes[90], sizes[97] + 10, 10 ** 7):
        search = QualitySearch(photo, budget, encoders.encode_jpegli)
        q = search.best_quality(fit.DISPLAY_SIDE, fit.FLOOR_QUALITY, fit.MAX_QUALITY)
        expected = max(q for q, n in sizes.items() if n <= budget)
        assert q == expected, budget
        total += search.encodes
    assert total <= 30  # bisection over [30, 100] takes 7 each
    search = QualitySearch(photo, sizes[fit.FLOOR_QUALITY] - 1, encoders.encode_jpegli)
    assert search.best_quality(fit.DISPLAY_SIDE, fit.FLOOR_QUALITY, fit.MAX_QUALITY) is None


def test_small_picture_keeps_its_size(photo):
    small = photo.resize((640, 400), Image.Resampling.LANCZOS)
    enc, _ = fit.fit_jpeg(small, 128_000)
    assert (enc.width, enc.height) == (640, 400)
    assert enc.quality == fit.MAX_QUALITY  # the budget is there to use


def test_impossible_budget_refuses():
    noise = Image.effect_noise((400, 300), 90).convert("RGB")
    with pytest.raises(CannotComply):
        fit.fit_jpeg(noise, 150)


def test_transparency_is_flattened_after_resizing_like_before(photo):
    """Alpha kept through the resize (4x fewer pixels to composite) gives the picture
    that flattening first gives: Pillow resizes RGBA premultiplied."""
    rgba = photo.convert("RGBA")
    alpha = Image.linear_gradient("L").resize(rgba.size)  # 0 at the top to 255 at the bottom
    rgba.putalpha(alpha)
    enc, _ = fit.fit_jpeg(rgba, 128_000)
    got = _decoded(enc.data).convert("RGB")
    expected = resize.to_side(image_decode.flatten(rgba), fit.DISPLAY_SIDE)
    assert got.size == expected.size
    diff = ImageStat.Stat(ImageChops.difference(got, expected)).mean
    assert max(diff) < 3  # JPEG noise only
    top = got.crop((0, 0, got.width, 8))
    assert min(ImageStat.Stat(top).mean) > 245  # transparent rows came out white


def test_opaque_alpha_is_dropped_without_compositing(photo):
    rgba = photo.convert("RGBA")
    assert image_decode.normalize(rgba).mode == "RGB"
    assert image_decode.normalize(rgba).tobytes() == photo.tobytes()


def _png_with_exif_after_idat(path: Path) -> None:
    """A PNG whose eXIf chunk (with a GPS IFD) comes after the image data, where
    Pillow only finds it by decoding the pixels."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buf, "PNG")
    data = buf.getvalue()
    exif = Image.Exif()
    exif[0x8825] = {2: (48.0, 51.0, 30.0)}  # GPSLatitude
    payload = exif.tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + chunk + data[iend:])


def test_probe_still_finds_exif_after_png_image_data(tmp_path):
    src = tmp_path / "late_exif.png"
    _png_with_exif_after_idat(src)
    info = probe_image(sniff(src), WECHAT.safety)
    assert info.has_exif and info.has_gps
    plain = tmp_path / "plain.png"
    Image.new("RGB", (64, 48)).save(plain)
    info = probe_image(sniff(plain), WECHAT.safety)
    assert not info.has_exif and not info.has_gps
    # wechat-oa takes PNG as it is; a PNG with GPS must not pass through with it.
    res = mediaprep.prepare(src, out_dir=tmp_path / "out", profile="wechat-oa")
    (out,) = res.outputs
    assert not out.passed_through
    assert b"eXIf" not in out.path.read_bytes()


def _coloured_lines() -> Image.Image:
    """Thin saturated red and blue lines on a grey gradient: the colour detail that
    4:2:0 smears at 1080 px."""
    im = Image.linear_gradient("L").resize((2400, 1600)).convert("RGB")
    draw = ImageDraw.Draw(im)
    for x in range(-1600, 2400, 200):
        draw.line([(x, 0), (x + 1600, 1600)], fill=(230, 20, 40), width=2)
        draw.line([(x + 6, 0), (x + 1606, 1600)], fill=(20, 60, 230), width=1)
    return im


def test_chroma_detail_tells_colour_detail_from_a_photo(photo):
    at_display = resize.to_side(photo, fit.DISPLAY_SIDE)
    assert chroma.chroma_detail(at_display) < fit.GROW_IF_CHROMA
    assert chroma.chroma_detail(resize.to_side(_coloured_lines(), fit.DISPLAY_SIDE)) > 2 * fit.GROW_IF_CHROMA


def test_colour_detail_grows_past_the_display_side():
    enc, _ = fit.fit_jpeg(_coloured_lines(), 128_000)
    assert len(enc.data) <= 128_000
    im = _decoded(enc.data)
    assert max(im.size) >= fit.DISPLAY_SIDE * fit.MIN_GROWTH
    assert enc.quality >= fit.GROW_QUALITY


def test_flat_picture_grows_while_near_lossless():
    grey = Image.linear_gradient("L").resize((2400, 1600))
    flat = Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                               Image.new("L", grey.size, 128)))
    enc, _ = fit.fit_jpeg(flat, 128_000)
    assert len(enc.data) <= 128_000
    assert max(_decoded(enc.data).size) > fit.DISPLAY_SIDE * fit.MIN_GROWTH
    assert enc.quality >= fit.GROW_FLAT_QUALITY


def test_growing_stops_before_a_step_of_a_few_pixels():
    """Each larger side tried costs a resize of the whole picture: after a first
    growth the next is tried only when it is at least MIN_STEP larger. Here the
    first growth (1784 px) fits with 2.5% of the budget to spare, and the next
    guess is 1.8% larger: it is not tried."""
    from mediaprep.fit.image_search import QualitySearch

    def bytes_at(side: int) -> int:
        return round(53_157 * (side / 1080) ** 1.5 * (1 + (side - 1080) / 9000))

    tried: list[int] = []

    class Sizes(QualitySearch):
        def size_at(self, side: int, q: int) -> int:
            tried.append(side)
            return bytes_at(side)

    search = Sizes(Image.new("RGB", (8, 8)), 128_000, encoders.encode_jpegli)
    side = fit._grow(search, 1080, 2560, 95)
    assert tried == [1080, side] and bytes_at(side) <= 128_000
    after = fit._guess_side([(s, bytes_at(s)) for s in tried], int(128_000 * 0.98)) // 8 * 8
    assert side < after < side * (1 + fit.MIN_STEP)  # the step it did not take


# ------------------------------------------------------------------ threads

def _transparent(photo: Image.Image) -> Image.Image:
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    return rgba


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("side", [1080, 777, 1799])
def test_resize_in_halves_gives_pillows_pixels(photo, mode, side):
    """The two-thread Lanczos is Pillow's own resize, pixel for pixel (RGBA: premultiplied
    through both passes, as Pillow does), at even, odd and nearly-unchanged sizes
    (777 px takes Pillow's box step first, then Lanczos over the reduced picture's
    share of it)."""
    from concurrent.futures import ThreadPoolExecutor

    src = photo if mode == "RGB" else _transparent(photo)
    scale = side / max(src.size)
    size = (round(src.width * scale), round(src.height * scale))
    with ThreadPoolExecutor(2) as pool:
        halves = resize.to_side(src, side, pool)
    whole = src.resize(size, Image.Resampling.LANCZOS, reducing_gap=resize.REDUCING_GAP)
    assert halves.mode == src.mode and halves.size == size
    assert halves.tobytes() == whole.tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("shape", [(1000, 2500), (1200, 2500), (1600, 2560)])
def test_tall_pictures_resize_the_same_on_any_thread_count(photo, mode, shape):
    """A picture about twice as tall as wide: Pillow's one call may run its columns
    pass first (rounding differently), so the fit makes its own two calls, rows
    first, with one thread or two: the same bytes either way, and those of Pillow's
    two passes."""
    from concurrent.futures import ThreadPoolExecutor

    src = photo.resize(shape, Image.Resampling.LANCZOS)
    src = src if mode == "RGB" else _transparent(src)
    size = (round(shape[0] * 1080 / shape[1]), 1080)
    with ThreadPoolExecutor(2) as pool:
        two = resize.lanczos(src, size, pool)
        reduced_two = resize.to_side(src, 777, pool)  # the box step, then Lanczos
    one = resize.lanczos(src, size, None)
    assert two.size == one.size == size and two.mode == one.mode == mode
    assert two.tobytes() == one.tobytes()
    assert reduced_two.tobytes() == resize.to_side(src, 777, None).tobytes()
    pic = src.convert("RGBa") if mode == "RGBA" else src
    passes = pic.resize((size[0], shape[1]), Image.Resampling.LANCZOS).resize(size, Image.Resampling.LANCZOS)
    assert one.tobytes() == (passes.convert("RGBA") if mode == "RGBA" else passes).tobytes()


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("size", [(1080, 675), (777, 1001), (400, 1200), (300, 65)])
def test_sharpen_in_halves_gives_one_calls_pixels(photo, mode, size):
    """The two-thread sharpening is one filter call's, pixel for pixel, across the
    seam, at even and odd heights and at the smallest height that is split."""
    from concurrent.futures import ThreadPoolExecutor

    from mediaprep.fit.sharpen import KERNEL, MIN_SPLIT_ROWS, sharpen

    src = photo.resize(size, Image.Resampling.LANCZOS).convert(mode)
    assert src.height >= MIN_SPLIT_ROWS
    with ThreadPoolExecutor(2) as pool:
        halves = sharpen(src, pool)
    assert halves.mode == src.mode and halves.size == src.size
    assert halves.tobytes() == src.filter(KERNEL).tobytes() == sharpen(src, None).tobytes()
    assert halves.tobytes() != src.tobytes()  # it did sharpen


def test_sharpen_is_the_unsharp_mask_it_was_tuned_as(photo):
    """The 3x3 kernel stands for Pillow's UnsharpMask(radius 0.8, 30%, threshold 0),
    which the fit's rules were tuned with: on a photo it is not among those it was
    fitted on, it is within half a level of it (RMS), and it sharpens as much
    (the same change in detail, within 10%)."""
    from mediaprep.fit.sharpen import sharpen

    pic = photo.resize((1080, round(1080 * photo.height / photo.width)), Image.Resampling.LANCZOS)
    ours = sharpen(pic, None)
    theirs = pic.filter(ImageFilter.UnsharpMask(radius=0.8, percent=30, threshold=0))
    diff = ImageStat.Stat(ImageChops.difference(ours, theirs))
    assert max(diff.rms) < 0.5, diff.rms
    gained = [ImageStat.Stat(ImageChops.difference(im, pic)).rms for im in (ours, theirs)]
    for a, b in zip(*gained, strict=True):
        assert abs(a - b) <= 0.1 * b, gained


def test_search_cancels_neighbours_it_has_passed(photo):
    """The neighbouring qualities the search queued on a busy pool are cancelled once
    the bracket has moved past them (they would only delay the pool's other work),
    and the answer is the one found without a pool."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from mediaprep.fit.image_search import QualitySearch

    pic = photo.resize((1080, 675), Image.Resampling.LANCZOS)
    alone = QualitySearch(pic, 128_000, encoders.encode_jpegli).best_quality(1080, 40, 100)
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(release.wait, 30)  # the pool's only thread is busy meanwhile
        search = QualitySearch(pic, 128_000, encoders.encode_jpegli, pool=pool)
        queued: list[tuple[int, int]] = []
        also = search.also

        def record(side: int, q: int, lo: int, hi: int) -> None:
            also(side, q, lo, hi)
            if (side, q) in search.pending:
                queued.append((side, q))

        search.also = record  # type: ignore[method-assign]
        assert search.best_quality(1080, 40, 100) == alone
        release.set()
    assert queued, "the search queued no neighbour"
    assert search.pending == {}


@pytest.mark.parametrize("budget", [128_000, 64_000, 20_000, 6_000])
def test_fit_on_threads_is_the_fit_without(photo, budget, monkeypatch):
    """With a pool the fit sharpens, measures colour detail and encodes neighbouring
    qualities on other threads; the bytes are the same as without (a 2400 px
    picture takes the 2x box step, so it is sharpened too). The colour detail is
    begun on the pool at the start, so it always runs there; a neighbour's encode
    runs there when a pool thread is free for it before the search needs it, so
    that is asked of one run in three (a loaded machine may starve one run)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    big = photo.resize((2400, 1500), Image.Resampling.LANCZOS)
    where: list[str] = []
    side_work: list[str] = []
    real_detail = fit.chroma_detail

    def encode(im: Image.Image, q: int) -> bytes:
        where.append(threading.current_thread().name)
        return encoders.encode_jpegli(im, q)

    def detail(im: Image.Image) -> float:
        side_work.append(threading.current_thread().name)
        return real_detail(im)

    alone, _ = fit.fit_jpeg(big, budget, encode=encode)
    assert set(where) == {threading.current_thread().name}
    monkeypatch.setattr(fit, "chroma_detail", detail)
    encoded_on_pool = False
    for _attempt in range(3):
        where.clear()
        side_work.clear()
        with ThreadPoolExecutor(2, thread_name_prefix="fit-test") as pool:
            threaded, _ = fit.fit_jpeg(big, budget, encode=encode, pool=pool)
        assert threaded == alone
        assert side_work and all(name.startswith("fit-test") for name in side_work), side_work
        encoded_on_pool = any(name.startswith("fit-test") for name in where)
        if encoded_on_pool:
            break
    assert encoded_on_pool, where


def test_one_thread_means_no_pool(monkeypatch):
    from mediaprep.tools import threads

    monkeypatch.setenv("MEDIAPREP_THREADS", "1")
    assert threads.pool() is None
    monkeypatch.setenv("MEDIAPREP_THREADS", "2")
    pool = threads.pool()
    assert pool is not None and threads.pool() is pool


def test_in_parallel_from_inside_the_pool_cannot_deadlock():
    """A task of a one-thread pool splits its work in two: the half it hands to the
    pool can never start (the only thread is busy running the task), so it is taken
    back and run in the task itself instead of waited for."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from mediaprep.tools.threads import in_parallel

    ran: list[str] = []

    def half(name: str) -> str:
        ran.append(threading.current_thread().name)
        return name

    with ThreadPoolExecutor(1, thread_name_prefix="only") as pool:
        task = pool.submit(in_parallel, pool, lambda: half("a"), lambda: half("b"))
        assert task.result(timeout=10) == ("a", "b")
    assert len(ran) == 2 and all(name.startswith("only") for name in ran)


def test_phone_view_in_halves_is_the_plain_resize(photo):
    """--measure's view of a picture: the same pixels with and without threads."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        for size in [(1080, 675), (1079, 674), (601, 376)]:
            assert resize.lanczos(photo, size, pool).tobytes() == photo.resize(size, Image.Resampling.LANCZOS).tobytes()


def test_background_work_keeps_the_spare_core(monkeypatch):
    """While --measure's reference half runs in the background on a 2-core machine,
    the fit gets no pool (its side work would only slow the reference down); once it
    has ended, the fit gets the pool again."""
    import threading

    from mediaprep.tools import threads

    monkeypatch.setenv("MEDIAPREP_THREADS", "2")
    release = threading.Event()
    seen: list[object] = []

    def long_work() -> str:
        seen.append(threads.spare())
        release.wait(10)
        return "done"

    assert threads.spare() is threads.pool() is not None
    task = threads.background(long_work)
    assert task is not None
    assert threads.spare() is None
    release.set()
    assert task.result(timeout=10) == "done"
    assert seen == [None]  # inside the background work too
    assert threads.spare() is threads.pool()


def test_a_forked_child_gets_its_own_pool(tmp_path):
    """A library user who forks after a prepare (a pre-forking server) must not inherit
    a pool whose threads exist only in the parent: the child's fit would wait forever."""
    import os

    from mediaprep.tools import threads

    if threads.pool() is None:
        pytest.skip("one usable core: no pool")
    parent_pool = threads.pool()
    photo = TESTDATA / "images/photo_rotated_gps.jpg"
    mediaprep.prepare(photo, out_dir=tmp_path / "parent")
    import warnings

    with warnings.catch_warnings():  # 3.12+: "this process is multi-threaded": that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: prepare again, exit 0 only if it worked on a new pool
        code = 1
        try:
            child_pool = threads.pool()
            out = mediaprep.prepare(photo, out_dir=tmp_path / "child")
            code = 0 if child_pool is not parent_pool and out.outputs[0].bytes > 0 else 2
        finally:
            os._exit(code)
    deadline = 30
    import time

    start = time.monotonic()
    while time.monotonic() - start < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child's prepare hung")


# ------------------------------------------------------------------ long pictures


def _long_screenshot(width: int, height: int) -> Image.Image:
    """A chat screenshot made to be scrolled: grey page, white and green bubbles of
    dark text lines, one every 150 px."""
    im = Image.new("RGB", (width, height), (237, 237, 237))
    d = ImageDraw.Draw(im)
    for i, y in enumerate(range(30, height - 120, 150)):
        left = i % 2 == 0
        x0, x1 = (int(width * 0.12), int(width * 0.6)) if left else (int(width * 0.38), int(width * 0.88))
        d.rectangle((x0, y, x1, y + 90), fill=(255, 255, 255) if left else (149, 236, 105))
        for k in range(3):  # "text": short dark strokes
            d.rectangle((x0 + 20 + k * 60, y + 35, x0 + 60 + k * 60, y + 55), fill=(30, 30, 30))
    return im


def test_a_portrait_photo_is_made_the_phones_width_wide_and_a_thumb_is_not(photo, tmp_path):
    """Phones show a portrait picture fitted to their width: 1080 px wide (it was 1080
    tall, upscaled 1.33x on the screen). A thumb (a cover, shown small) keeps 1080 on
    its long side."""
    upright = tmp_path / "竖拍.jpg"
    photo.transpose(Image.Transpose.ROTATE_90).save(upright, quality=95)
    w, h = photo.height, photo.width
    out = mediaprep.prepare(upright, out_dir=tmp_path / "out").outputs[0]
    assert out.bytes == out.path.stat().st_size <= 128_000
    with Image.open(out.path) as im:
        assert im.format == "JPEG" and im.size == (out.width, out.height) == (1080, round(h * 1080 / w))
    thumb = mediaprep.prepare(upright, out_dir=tmp_path / "thumb", as_="thumb").outputs[0]
    with Image.open(thumb.path) as im:
        assert im.size == (round(w * 1080 / h), 1080) and thumb.path.stat().st_size <= 64 * 1024


def test_a_tall_long_screenshot_keeps_the_phones_width(tmp_path):
    """A picture more than twice as tall as wide is shown at the phone's full width and
    scrolled: it is made 1080 px wide, not 1080 px tall (a 1080x4000 screenshot became
    292x1080, its text unreadable)."""
    src = tmp_path / "长截图.png"
    _long_screenshot(1080, 4000).save(src)
    out = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs[0]
    assert (out.width, out.height) == (1080, 4000) and out.bytes <= 128_000
    with Image.open(out.path) as im:
        assert im.size == (1080, 4000) and im.format == "JPEG"


def test_a_long_jpeg_is_decoded_at_the_phones_width(tmp_path):
    """A 2160x7000 JPEG: DCT-scaled only as far as 1080 px wide (1/2), then kept."""
    src = tmp_path / "poster.jpg"
    _long_screenshot(2160, 7000).save(src, quality=90)
    out = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs[0]
    with Image.open(out.path) as im:
        assert im.format == "JPEG" and im.size == (1080, 3500)


def test_a_long_picture_shrinks_in_proportion_and_a_panorama_keeps_the_long_side_rule(tmp_path):
    """Too many pixels for the budget at full width: smaller in the usual steps, its
    shape kept. A wide panorama is shown fitted to the phone's width: 1080 on its long
    side, as before."""
    src = tmp_path / "tall.png"
    _long_screenshot(1080, 4000).save(src)
    tiny = dataclasses.replace(WECHAT, name="tiny", image=RoleLimits(max_bytes=40_000, formats=("jpeg",)))
    out = mediaprep.prepare(src, out_dir=tmp_path / "tiny", profile=tiny).outputs[0]
    assert out.bytes <= 40_000 and 1080 < out.height < 4000
    assert out.width / out.height == pytest.approx(1080 / 4000, rel=0.01)
    wide = tmp_path / "panorama.png"
    _long_screenshot(1000, 4000).transpose(Image.Transpose.ROTATE_90).save(wide)
    pano = mediaprep.prepare(wide, out_dir=tmp_path / "pano").outputs[0]
    assert (pano.width, pano.height) == (1080, 270)
