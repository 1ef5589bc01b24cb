"""``python -m emulators …`` is ``productsync emulators …``."""

import sys

from console.cli import main

main(["emulators", *sys.argv[1:]])
