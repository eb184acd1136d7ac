"""Volatility 3 support: an AFF4 physical layer and its stacker.

Volatility 3 loads third-party layers only from plugin directories, so the layer
(``pmem_aff4.vol3.layer``) is registered by a one-line module in ``plugin_dir()``:

    vol -p "$(python -m pmem_aff4.vol3)" -f host.aff4 banners.Banners
    pmem-aff4-vol -f host.aff4 banners.Banners        # the same, -p added for you
"""

import os


def plugin_dir() -> str:
    """The directory to give Volatility 3 with ``-p``."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")
