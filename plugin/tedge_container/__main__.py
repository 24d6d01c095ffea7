"""`python -m tedge_container`: the operator command line."""

import sys

from .cli import main

sys.exit(main(["tedge-container-plugin", *sys.argv[1:]]))
