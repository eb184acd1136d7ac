"""Runs Volatility 3 plugins in this process, the way `vol` does (plugin directories,
automagics, LayerStacker, construct_plugin), so a test can run dozens of them without
paying vol's start-up each time (and without the OS stackers, see run()). File outputs (layerwriter) are hashed, not stored.
The `vol` command itself is exercised by test_vol3.py's CLI tests."""

import hashlib
import io
import tempfile

import volatility3.plugins
from volatility3 import framework
from volatility3.framework import automagic, constants, contexts, interfaces, plugins
from volatility3.framework.automagic import stacker
from volatility3.framework.configuration import requirements

_plugins = None


class HashingFileHandler(interfaces.plugins.FileHandlerInterface):
    """Keeps the SHA-256 and size of every file a plugin writes."""

    written = {}

    def __init__(self, filename: str):
        super().__init__(filename)
        self._h = hashlib.sha256()
        self._n = 0

    def writable(self):
        return True

    def write(self, b):
        self._h.update(b)
        self._n += len(b)
        return len(b)

    def close(self):
        if not self.closed:
            HashingFileHandler.written[self.preferred_filename] = (self._h.hexdigest(), self._n)
        super().close()


def load(plugin_dirs):
    """Imports Volatility's plugins and those in plugin_dirs (vol's -p), once."""
    global _plugins
    if _plugins is None:
        volatility3.plugins.__path__ = list(plugin_dirs) + list(volatility3.plugins.__path__)
        constants.PARALLELISM = constants.Parallelism.Off
        constants.OFFLINE = True
        constants.CACHE_PATH = tempfile.mkdtemp(prefix="vol3-cache-")
        framework.import_files(volatility3.plugins, True)
        _plugins = framework.list_plugins()
    return _plugins


def run(path, plugin_name, plugin_dirs=()):
    """(rows, {filename: (sha256, size)}) of plugin_name on the file at path."""
    plugin = load(plugin_dirs)[plugin_name]
    ctx = contexts.Context()
    ctx.config["automagic.LayerStacker.single_location"] = requirements.URIRequirement.location_from_file(str(path))
    automagics = automagic.choose_automagic(automagic.available(ctx), plugin)
    # Only the file-format stackers: the OS ones (a Windows DTB scan in pure Python
    # takes ~30 s on a 256 MiB disk image) stack above the physical layer under test.
    ctx.config["automagic.LayerStacker.stackers"] = [
        s for s in stacker.choose_os_stackers(plugin)
        if not s.startswith(("WindowsIntel", "Linux", "Mac"))
    ]
    HashingFileHandler.written = {}
    constructed = plugins.construct_plugin(ctx, automagics, plugin, "plugins", None, HashingFileHandler)
    rows = []

    def visit(node, acc):
        acc.append(node.values)
        return acc

    constructed.run().populate(visit, rows)
    layers = {name: type(layer).__name__ for name, layer in ctx.layers.items()}
    return rows, dict(HashingFileHandler.written), layers
