"""tsharkpost diff: two connection records (pipeline.analyze) -> aligned sections -> ranked verdict -> renderers.

sides.py picks the two connections, compare.py diffs them section by section,
verdict.py ranks the differences that explain BAD's failure, cli.py wires it.
"""
