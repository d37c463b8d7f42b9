"""`python -m compression.ptq`: see compression/ptq/cli.py."""

from compression.ptq.cli import main

raise SystemExit(main())
