"""One module per subcommand: its arguments, its run, its exit codes. common.py holds what they share."""
