"""Post-training quantization of trained models (`core`), and its command line (`python -m compression.ptq`).

`from compression import ptq` gives every public name of `core`: quantize_model, sweep_models, sensitivity,
load_run_models, ... The package has no import cycle: `cli` imports `core`, `__main__` imports `cli`, and
nothing here imports `cli` back.
"""

from compression.ptq import core as _core

globals().update({name: value for name, value in vars(_core).items() if not name.startswith("_")})
__all__ = list(_core.__all__)


def __getattr__(name: str):  # noqa: ANN202 - ROLES, ROLE_TITLES: read from the variants registry when asked
    return getattr(_core, name)
