"""The offline half of WBS: ``wbs-keytools`` for the keyholder workstation."""
