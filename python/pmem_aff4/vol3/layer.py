"""The AFF4 physical layer and stacker for Volatility 3.

``Aff4Layer`` sits on the ``FileLayer`` of an AFF4 volume (``-f host.aff4``) and exposes
the volume's memory (or disk) image at its physical addresses, with Volatility's hole
semantics:

* ``data``, ``zero`` and ``pattern`` ranges (acquired bytes, ``aff4:Zero``, other
  symbolic streams) are valid and read their contents;
* ``hole`` (never mapped), ``unreadable`` (``aff4:UnreadableData``: the read failed) and
  ``unknown`` (``aff4:UnknownData``: never read, e.g. an interrupted acquisition) are
  invalid: ``is_valid`` is False, ``read`` raises ``InvalidAddressException``,
  ``read(pad=True)`` gives zeros and scans skip them. A page that could not be acquired
  is thus never analysed as if its marker text were memory (a page-table walk through it
  fails instead of following garbage). ``pmem-aff4 --export --format lime|elf`` leaves
  the same ranges out, so the export and the container show Volatility the same memory.

The native reader is opened lazily and dropped when the layer is pickled
(``--parallelism processes``): PyO3 objects cannot be pickled.
"""

import bisect
import functools
import logging
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Optional, Tuple

from volatility3.framework import constants, exceptions, interfaces
from volatility3.framework.configuration import requirements

import pmem_aff4

vollog = logging.getLogger(__name__)

#: Local ZIP file header: every AFF4 volume starts with one.
_ZIP_MAGIC = b"PK\x03\x04"

#: pmem:architecture values (uname -m) and Volatility's name for them.
_ARCHITECTURES = {"x86_64": "Intel64", "amd64": "Intel64", "i686": "Intel32", "i386": "Intel32"}
_PMEM = "https://pmem-aff4.github.io/schema#"


def _local_path(layer: interfaces.layers.DataLayerInterface) -> Optional[str]:
    """The local file behind a FileLayer, or None (not a file: URL, not a FileLayer)."""
    location = getattr(layer, "location", None)
    if not isinstance(location, str):
        return None
    url = urllib.parse.urlparse(location)
    if url.scheme != "file":
        return None
    return urllib.request.url2pathname(url.path)


def _present_runs(ranges) -> List[Tuple[int, int]]:
    """Merged (start, end) runs of the ranges that hold memory."""
    runs: List[Tuple[int, int]] = []
    for r in ranges:
        if r.kind not in pmem_aff4.PRESENT_KINDS or r.length == 0:
            continue
        if runs and runs[-1][1] == r.start:
            runs[-1] = (runs[-1][0], r.end)
        else:
            runs.append((r.start, r.end))
    return runs


class Aff4FormatException(exceptions.LayerException):
    """The base layer is not an AFF4 volume with an image in it."""


class Aff4Layer(interfaces.layers.TranslationLayerInterface):
    """The memory or disk image of an AFF4 volume, at its physical addresses."""

    _direct_metadata = {"architecture": "Unknown", "os": "Unknown"}

    def __init__(
        self,
        context: interfaces.context.ContextInterface,
        config_path: str,
        name: str,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(context=context, config_path=config_path, name=name, metadata=metadata)
        self._base_layer = self.config["base_layer"]
        path = _local_path(self._context.layers[self._base_layer])
        if path is None:
            raise Aff4FormatException(self.name, f"{self._base_layer} is not a local file")
        self._path = path
        container = pmem_aff4.open(path)
        image = self._image_ = container.image()
        self._runs = _present_runs(image.ranges())
        if not self._runs:
            raise Aff4FormatException(self.name, f"{path}: the image holds no memory")
        self._starts = [s for s, _ in self._runs]
        self._image_urn = image.urn
        props = {p: v for p, v, _ in container.properties(image.urn)}
        arch = props.get(_PMEM + "architecture")
        if arch in _ARCHITECTURES:
            self._direct_metadata = dict(self._direct_metadata, architecture=_ARCHITECTURES[arch])

    @property
    def _image(self) -> "pmem_aff4.Image":
        # Opened on first use, also in a worker process after unpickling.
        if self._image_ is None:
            self._image_ = pmem_aff4.open(self._path).image(self._image_urn)
        return self._image_

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_image_"] = None
        return state

    # Addresses

    @property
    def minimum_address(self) -> int:
        return self._runs[0][0]

    @property
    def maximum_address(self) -> int:
        return self._runs[-1][1] - 1

    @property
    def dependencies(self) -> List[str]:
        return [self._base_layer]

    def _run_at(self, offset: int) -> Optional[Tuple[int, int]]:
        i = bisect.bisect_right(self._starts, offset) - 1
        if i >= 0 and offset < self._runs[i][1]:
            return self._runs[i]
        return None

    def is_valid(self, offset: int, length: int = 1) -> bool:
        run = self._run_at(offset)
        return run is not None and offset + max(length, 1) <= run[1]

    def mapping(
        self, offset: int, length: int, ignore_errors: bool = False
    ) -> Iterable[Tuple[int, int, int, int, str]]:
        """(offset, length, offset, length, this layer) for each present piece of the
        range; the image is not a linear view of the base layer (its chunks are
        compressed), so mapped offsets are this layer's own."""
        end = offset + max(length, 1)
        pos = offset
        i = max(bisect.bisect_right(self._starts, offset) - 1, 0)
        while pos < end:
            run = self._runs[i] if i < len(self._runs) else None
            if run is None or run[0] >= end:
                if not ignore_errors:
                    raise exceptions.InvalidAddressException(
                        self.name, pos, f"Offset {pos:#x} is not in the AFF4 image's memory"
                    )
                return
            start, stop = run
            if stop <= pos:
                i += 1
                continue
            if start > pos and not ignore_errors:
                raise exceptions.InvalidAddressException(
                    self.name, pos, f"Offset {pos:#x} is not in the AFF4 image's memory"
                )
            piece_start = max(start, pos)
            piece_end = min(stop, end)
            n = piece_end - piece_start
            if length == 0:
                n = 0
            yield piece_start, n, piece_start, n, self.name
            pos = piece_end
            i += 1

    @functools.lru_cache(maxsize=512)
    def read(self, offset: int, length: int, pad: bool = False) -> bytes:
        if length <= 0:
            return b""
        out = bytearray()
        pos, end = offset, offset + length
        for start, n, _, _, _ in self.mapping(offset, length, ignore_errors=pad):
            if start > pos:  # only with pad: the gap reads as zeros
                out += bytes(start - pos)
            out += self._image.read(start, n)
            pos = start + n
        if pos < end:
            if not pad:
                raise exceptions.InvalidAddressException(
                    self.name, pos, f"Offset {pos:#x} is not in the AFF4 image's memory"
                )
            out += bytes(end - pos)
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        raise exceptions.LayerException(self.name, "AFF4 images are read-only")

    @classmethod
    def get_requirements(cls) -> List[interfaces.configuration.RequirementInterface]:
        return [requirements.TranslationLayerRequirement(name="base_layer", optional=False)]


class Aff4Stacker(interfaces.automagic.StackerLayerInterface):
    """Stacks an ``Aff4Layer`` on a file that is an AFF4 volume with an image."""

    # Before LiME/ELF/AVML (10): a ZIP is none of those, and we check it cheaply.
    stack_order = 9

    @classmethod
    def stack(
        cls,
        context: interfaces.context.ContextInterface,
        layer_name: str,
        progress_callback: constants.ProgressCallback = None,
    ) -> Optional[interfaces.layers.DataLayerInterface]:
        base = context.layers[layer_name]
        try:
            if base.read(0, len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                return None
        except exceptions.InvalidAddressException:
            return None
        path = _local_path(base)
        if path is None:
            return None
        try:
            pmem_aff4.open(path).image()
        except pmem_aff4.Aff4Error as e:
            vollog.debug(f"{path} is a ZIP but not an AFF4 volume with an image: {e}")
            return None
        new_name = context.layers.free_layer_name("Aff4Layer")
        context.config[interfaces.configuration.path_join(new_name, "base_layer")] = layer_name
        return Aff4Layer(context, new_name, new_name)
