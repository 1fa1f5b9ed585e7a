"""Derivative transforms over the SSA IR and their rule table."""
