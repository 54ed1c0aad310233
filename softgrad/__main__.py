"""``python -m softgrad``: the same command as ``softgrad``."""
import sys

from softgrad.cli import main

if __name__ == "__main__":
    sys.exit(main())
