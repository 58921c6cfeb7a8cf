#!/usr/bin/env python
"""Fine-tune an ImageNet checkpoint on a fine-grained dataset, then evaluate it.

The command line lives in the package: ``python -m rexnet_mm.tools.transfer --help``.
"""
import sys

from rexnet_mm.tools.transfer import cli

if __name__ == '__main__':
    sys.exit(cli())
