"""Renderers: a Summary in, text out. Nothing below the CLI prints."""
