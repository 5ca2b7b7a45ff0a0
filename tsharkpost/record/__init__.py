"""The connection record every stage after the capture reads (model.py), and its JSON form (jsonform.py)."""
