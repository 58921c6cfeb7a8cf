"""Analysis for the report and benchmark tools: parameter/FLOP counts
(:mod:`.complexity`), parity against independent implementations (:mod:`.parity`),
figures of training runs (:mod:`.plots`), the speed benchmark (:mod:`.benchmark`) and the
operator profile (:mod:`.profile`), which export through :mod:`rexnet_mm.deploy` (the
layer below)."""
