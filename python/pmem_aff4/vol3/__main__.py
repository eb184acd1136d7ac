"""``python -m pmem_aff4.vol3``: prints the plugin directory for ``vol -p``."""

from . import plugin_dir

print(plugin_dir())
