"""tsharkpost: turn packet captures into answers for people who troubleshoot TLS."""

__version__ = "0.1.0"
