"""Renderers: a finished result in, text out (summary table/JSON/CSV, diff, timeline, explain). Nothing else prints."""
