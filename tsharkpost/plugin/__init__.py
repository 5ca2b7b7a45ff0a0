"""The Wireshark plugin as the Python side sees it: where it lives, the fields it emits, the fact tables it shares."""
