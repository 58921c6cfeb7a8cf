#!/usr/bin/env python
"""Convert a ReXNet or RegNet checkpoint to rexnet_mm's layout (or export it).

The command line lives in the package: ``python -m rexnet_mm.tools.convert_checkpoint --help``.
"""
import sys

from rexnet_mm.tools.convert_checkpoint import cli

if __name__ == '__main__':
    sys.exit(cli())
