"""tsharkpost diff: two connection records -> aligned sections -> ranked verdict (rendered by render/diff_*).

sides.py picks the two connections, compare.py diffs them section by section, verdict.py ranks the
differences that explain BAD's failure, model.py holds the comparison; commands/diff.py wires it.
"""
