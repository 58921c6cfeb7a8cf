#!/usr/bin/env python
"""Export to ONNX (BN folded) and check parity under ONNX Runtime.

The command line lives in the package: ``python -m rexnet_mm.tools.deploy --help``.
"""
import sys

from rexnet_mm.tools.deploy import cli

if __name__ == '__main__':
    sys.exit(cli())
