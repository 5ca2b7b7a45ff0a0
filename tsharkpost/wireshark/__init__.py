"""Wireshark integration: filter presets, the TLS Troubleshooting profile, and installing both with the plugin."""
