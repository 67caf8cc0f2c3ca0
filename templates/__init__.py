"""Jinja2 templates and the one CSS file, shipped as package data."""
