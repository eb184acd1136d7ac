# Registers the AFF4 layer and stacker of pmem_aff4 with Volatility 3 (`vol -p DIR`).
# An ImportError makes vol skip this module ("could not be loaded") instead of aborting.
try:
    from pmem_aff4.vol3.layer import Aff4Layer, Aff4Stacker  # noqa: F401
except ImportError as e:  # pmem_aff4 not installed in the Python that runs vol
    raise ImportError(f"pmem_aff4 AFF4 layer unavailable: {e}") from e
