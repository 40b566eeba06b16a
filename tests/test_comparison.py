"""The slide-ready comparison image and the zoom-region finder."""

from __future__ import annotations

import numpy as np

from eval.comparison import Panel, compose_comparison, region_of_largest_difference, stack_vertical


def test_compose_comparison_lays_panels_side_by_side():
    a = np.zeros((50, 100, 3), np.uint8)
    b = np.full((100, 100, 3), 255, np.uint8)
    sheet = compose_comparison([Panel(a, "A", "1.0 dB"), Panel(b, "B")], height=100)
    # A is 100 px tall after resizing to height 100 (200 wide), B 100 wide, plus 3 gaps of 12.
    assert sheet.size[0] == 200 + 100 + 3 * 12
    px = np.asarray(sheet)
    assert (px[34 + 50, 12 + 100] == 0).all()  # inside panel A (black)
    assert (px[34 + 50, 12 + 200 + 12 + 50] == 255).all()  # inside panel B (white)
    tall = stack_vertical([sheet, sheet])
    assert tall.size == (sheet.size[0], 2 * sheet.size[1])


def test_region_of_largest_difference_finds_the_changed_patch():
    a = np.zeros((120, 90, 3), np.uint8)
    b = a.copy()
    b[70:86, 20:36] = 200
    top, left = region_of_largest_difference(a, b, 16)
    assert (top, left) == (70, 20)
    assert region_of_largest_difference(a, b, 500) == (0, 0)  # window larger than the image


def test_a_long_footer_wraps_inside_a_narrow_sheet():
    """The style-transfer sheet's footer was one line that ran off its right edge."""
    panel = Panel(np.zeros((64, 64, 3), np.uint8), "A")
    footer = "Style transfer: z = S(x), rendered with other captions · " * 4
    short = compose_comparison([panel, panel], height=64, footer="one line")
    long = compose_comparison([panel, panel], height=64, footer=footer.strip())
    assert long.size[0] == short.size[0] and long.size[1] >= short.size[1] + 3 * 18
    below_panels = np.asarray(long)[34 + 64 + 30 :]
    ink = (below_panels < 200).any(axis=(0, 2))  # columns with footer text
    assert ink.any() and not ink[-12:].any()  # text, and none in the right-hand gap
