"""Raster images with Pillow: every frame of the file fully decoded (multi-page TIFF, animated
GIF/PNG/WebP, JPEG 2000 when this Pillow has OpenJPEG).

A truncated or corrupt image is a ``fail`` naming the frame. An image whose declared size is
over ``Limits.max_image_pixels`` is a ``fail`` before a pixel is decoded (Pillow's
``DecompressionBombWarning`` is turned into an error in the validating process), so a bomb
never reaches the memory cap; the cap catches what this check does not.
"""

from __future__ import annotations

import warnings

import PIL
from PIL import Image, ImageFile, ImageSequence, features

from preserve.ingest.validation.result import Finding, Item, Limits, failed, passed, warned

TOOL = f"Pillow {PIL.__version__}"
_JPEG2000 = {"x-fmt/392", "fmt/151", "fmt/463", "fmt/1135", "fmt/1136"}


def validate(item: Item, limits: Limits) -> Finding:
    if (item.puid in _JPEG2000 or (item.mime or "").startswith("image/jp")) and not features.check(
        "jpg_2000"
    ):
        return warned("this Pillow has no JPEG 2000 codec (OpenJPEG): not decoded")
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    frame = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(item.path) as image:
                size, mode = image.size, image.mode
                for page in ImageSequence.Iterator(image):
                    frame += 1
                    page.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return failed(f"decompression bomb refused: {exc}", "header")
    except MemoryError:
        return failed("decoding exceeded the memory cap", _at(frame))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return failed(f"does not decode: {exc}", _at(frame))
    frames = f"{frame} frames" if frame > 1 else "1 frame"
    return passed(f"{size[0]}x{size[1]} {mode}, {frames} fully decoded")


def _at(frame: int) -> str:
    return f"frame {frame}" if frame else "header"
