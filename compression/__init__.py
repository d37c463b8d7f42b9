"""Compression Lab's library: quantization, low-bit formats, distillation and the quiz bank.

Never imports streamlit: every function here works from a notebook, a test or the CLI.
"""

__all__ = ["config", "device"]
