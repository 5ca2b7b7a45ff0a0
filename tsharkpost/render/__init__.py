"""Renderers: a finished result in, text out (summary table/JSON/CSV/HTML, diff table/JSON/HTML, timeline,
explain). The commands print only their own interaction (wireshark install plans and status, progress)."""
