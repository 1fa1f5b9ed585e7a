"""The structured SSA IR: values, ops with regions, a printer and a verifier."""
