"""``python -m okta_connections`` and the ``okta-connections`` command (see :mod:`.cli`)."""

from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
