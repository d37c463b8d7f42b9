"""`python -m compression.distill ...`: an alias of the distillation CLI (compression/distillation/__main__.py)."""

from compression.distillation.__main__ import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
