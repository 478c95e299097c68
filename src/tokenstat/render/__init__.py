"""Rendering of report dicts: terminal tables, JSON and CSV."""
