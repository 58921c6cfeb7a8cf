#!/usr/bin/env python
"""ImageNet stand-in: pre-train, export in a foreign layout, fine-tune vs. scratch.

The command line lives in the package: ``python -m rexnet_mm.tools.pretrain_standin --help``.
"""
import sys

from rexnet_mm.tools.pretrain_standin import cli

if __name__ == '__main__':
    sys.exit(cli())
