"""Analysis for the report and benchmark tools: parameter/FLOP counts
(:mod:`.complexity`), parity against independent implementations (:mod:`.parity`) and
figures of training runs (:mod:`.plots`)."""
