#!/usr/bin/env python
"""Fetch ImageNet weights by name into the cache (for offline use), or list the zoo.

The command line lives in the package: ``python -m rexnet_mm.tools.fetch_weights --help``.
"""
import sys

from rexnet_mm.tools.fetch_weights import cli

if __name__ == '__main__':
    sys.exit(cli())
