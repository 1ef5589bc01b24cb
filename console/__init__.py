"""Operator surfaces: the `productsync` command line and the web history page."""
