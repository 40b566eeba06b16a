"""The shared input guard: every odd upload becomes RGB uint8 or a clear InputError."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data.input_guard import InputError, guard_image


def png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming a huge size, with (almost) no pixel data."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


rng = np.random.default_rng(0)
RGB = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)


yy, xx = np.mgrid[0:40, 0:60]
SMOOTH = np.stack([xx * 4, yy * 6, np.full_like(xx, 90)], axis=-1).astype(np.uint8)


def exif_rotated_jpeg() -> bytes:
    im = Image.fromarray(SMOOTH)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display upright
    return png_bytes(im, format="JPEG", exif=exif.tobytes())


def animated_gif() -> bytes:
    frames = [Image.fromarray(np.full((20, 30, 3), v, np.uint8)) for v in (10, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def rgba_half_transparent() -> bytes:
    a = np.zeros((20, 20, 4), np.uint8)
    a[..., 0] = 255
    a[:, :10, 3] = 255  # left opaque red, right fully transparent
    return png_bytes(Image.fromarray(a, "RGBA"))


OK_CASES = {
    "rgb png": (png_bytes(Image.fromarray(RGB)), (60, 40), None),
    "grayscale": (png_bytes(Image.fromarray(RGB[..., 0])), (60, 40), "Grayscale"),
    "16-bit grayscale png": (png_bytes(Image.fromarray(RGB[..., 0].astype(np.uint16) * 257)),
                             (60, 40), "bit"),  # fmt: skip
    "palette": (png_bytes(Image.fromarray(RGB).convert("P")), (60, 40), None),
    "rgba": (rgba_half_transparent(), (20, 20), "Transparency"),
    "cmyk jpeg": (png_bytes(Image.fromarray(RGB).convert("CMYK"), format="JPEG"), (60, 40), None),
    "exif-rotated jpeg": (exif_rotated_jpeg(), (40, 60), "EXIF"),
    "animated gif": (animated_gif(), (30, 20), "first of 2 frames"),
    "large image is downscaled": (png_bytes(Image.new("RGB", (3000, 1500), "gray")), (2048, 1024),
                                  "Downscaled"),  # fmt: skip
}


@pytest.mark.parametrize("name", list(OK_CASES))
def test_accepted_inputs(name):
    data, size, notice = OK_CASES[name]
    g = guard_image(data)
    assert g.array.dtype == np.uint8 and g.array.ndim == 3 and g.array.shape[2] == 3
    assert g.size == size
    if notice:
        assert any(notice in n for n in g.notices), g.notices
    else:
        assert not g.notices


def test_rgba_flattened_on_white():
    g = guard_image(rgba_half_transparent())
    assert tuple(g.array[5, 2]) == (255, 0, 0)
    assert tuple(g.array[5, 15]) == (255, 255, 255)


def test_exif_rotation_puts_pixels_upright():
    g = guard_image(exif_rotated_jpeg())
    # Orientation 6: the stored image is shown rotated 90 degrees clockwise.
    def error(k: int) -> float:
        return float(np.abs(g.array.astype(int) - np.rot90(SMOOTH, k=k).astype(int)).mean())

    assert error(-1) < 3 < error(1)  # JPEG loss only, and not the other way round


def test_sixteen_bit_scaling():
    a16 = np.array([[0, 65535], [257 * 128, 257 * 64]], dtype=np.uint16)
    g = guard_image(np.tile(a16, (8, 8)))
    assert g.array[0, 0, 0] == 0 and g.array[0, 1, 0] == 255 and g.array[1, 0, 0] == 128


REFUSED = {
    "zero-byte file": (b"", "empty"),
    "not an image": (b"hello, this is text, not a picture", "not an image"),
    "corrupt png": (png_bytes(Image.fromarray(RGB))[:120], "corrupt"),
    "1x1 image": (png_bytes(Image.new("RGB", (1, 1))), "too small"),
    "decompression bomb header": (bomb_png(100_000, 100_000), "Refused"),
    "huge but under PIL's limit": (bomb_png(8000, 8000), "megapixels"),
    "nothing given": (None, "No image"),
    "nan array": (np.full((20, 20, 3), np.nan), "NaN"),
    "wrong array shape": (np.zeros((4, 4, 4, 4)), "Expected an image array"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_inputs(name):
    data, message = REFUSED[name]
    with pytest.raises(InputError, match=message):
        guard_image(data)


def test_paths_work_and_empty_file_refused(tmp_path: Path):
    p = tmp_path / "x.png"
    p.write_bytes(png_bytes(Image.fromarray(RGB)))
    assert guard_image(str(p)).size == (60, 40)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        guard_image(empty)


def test_min_side_is_per_tab():
    with pytest.raises(InputError, match="at least 32"):
        guard_image(np.zeros((20, 20, 3), np.uint8), min_side=32)


# --- numbers, seeds, booleans and choices (#22 F3 and the minor cases) -----------------------

from data.input_guard import (  # noqa: E402
    MASK_ALPHA,
    boolean,
    guard_layer,
    layer_mask,
    one_of,
    real_number,
    seed_number,
    some_of,
    upright,
    whole_number,
)

BAD_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e308, 2**63, None, True, "abc", "", [],
               {}, "1" * 100_000]  # fmt: skip


@pytest.mark.parametrize("value", BAD_NUMBERS + [2.5, -1, 2**31], ids=repr)
def test_seeds_are_whole_numbers_up_to_2_31_in_every_tab(value):
    with pytest.raises(InputError, match="seed must be a whole number from 0 to 2147483647") as info:
        seed_number(value)
    assert len(str(info.value)) < 200  # never echoes a huge value back


def test_good_numbers_pass_through():
    assert seed_number(0) == 0 and seed_number(2**31 - 1) == 2**31 - 1 and seed_number(7.0) == 7
    assert seed_number("12") == 12
    assert whole_number(3, 1, 6, "fills") == 3 and real_number(0.25, 0, 1, "x") == 0.25


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_whole_and_real_numbers_refuse_nan_inf_null_and_text(value):
    with pytest.raises(InputError, match="fills must be a whole number"):
        whole_number(value, 1, 6, "fills")
    with pytest.raises(InputError, match="strength must be a number"):
        real_number(value, 0, 1e6, "strength")


@pytest.mark.parametrize("value", [float("nan"), "abc", 1, 0, None, "true"], ids=repr)
def test_booleans_must_be_real_booleans(value):
    with pytest.raises(InputError, match="true or false"):
        boolean(value, "with_hub")
    assert boolean(True, "x") is True and boolean(np.bool_(False), "x") is False


def test_choices_are_checked_and_never_echoed_whole():
    assert one_of("b", ["a", "b"], "mode") == "b"
    with pytest.raises(InputError, match="Unknown mode") as info:
        one_of("x" * 100_000, ["a", "b"], "mode")
    assert len(str(info.value)) < 200
    assert some_of(["b", "a", "b"], ["a", "b"], "method") == ["b", "a"]
    with pytest.raises(InputError, match="at least one method"):
        some_of([], ["a", "b"], "method")
    with pytest.raises(InputError, match="Too many") as info:
        some_of(["x" * 100] * 10_000, ["a", "b"], "method")
    assert len(str(info.value)) < 200
    with pytest.raises(InputError, match="list of choices"):
        some_of("a", ["a", "b"], "method")


# --- mask layers: the same decoder as photos (#22 F4, F5, F6) ---------------------------------


def test_a_decompression_bomb_as_a_layer_gets_our_message():
    for data in (bomb_png(20000, 20000), bomb_png(8000, 8000)):  # over PIL's limit; over ours
        with pytest.raises(InputError, match="Refused: the mask layer") as info:
            guard_layer(data)
        assert "DecompressionBomb" not in str(info.value) and "DOS" not in str(info.value)


def test_layers_from_bytes_arrays_and_corrupt_files():
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[2:5, 3:7] = (255, 0, 170, 255)
    decoded, orientation = guard_layer(png_bytes(Image.fromarray(rgba)))
    assert np.array_equal(decoded, rgba) and orientation == 1
    assert guard_layer(rgba[..., :3])[0].shape == (10, 12, 4)  # opaque RGB gets alpha 255
    with pytest.raises(InputError, match="mask layer file is not an image"):
        guard_layer(b"not a png")


def test_a_layer_with_its_own_exif_orientation_is_turned_upright():
    stored = np.zeros((20, 30, 3), np.uint8)
    stored[:5, :5] = 255  # top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to view
    data = png_bytes(Image.fromarray(stored), format="JPEG", exif=exif.tobytes(), quality=100)
    decoded, orientation = guard_layer(data)
    assert orientation == 6 and decoded.shape[:2] == (30, 20)
    assert decoded[:5, -5:, :3].mean() > 200  # the stored top-left is now top-right
    assert np.array_equal(upright(stored, 6), np.rot90(stored, k=-1))


@pytest.mark.parametrize("alpha, painted", [(1, False), (MASK_ALPHA - 1, False), (MASK_ALPHA, True),
                                            (255, True)])  # fmt: skip
def test_a_pixel_is_painted_where_the_brush_visibly_covers_it(alpha, painted):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = alpha
    rgba[0, 0, 3] = 0  # some transparency: a brush layer
    mask = layer_mask(rgba)
    assert mask[1:, 1:].all() == painted and not mask[0, 0]


def test_an_opaque_layer_is_a_black_and_white_mask():
    rgba = np.full((4, 4, 4), 255, np.uint8)
    rgba[:2, ..., :3] = 0
    assert layer_mask(rgba).tolist() == [[False] * 4] * 2 + [[True] * 4] * 2
