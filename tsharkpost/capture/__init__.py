"""The capture stage: tshark -> PDML -> packets -> connections -> classified records -> tallies, per file and per batch.

capfile.py looks at the file before tshark runs, tshark.py runs tshark, pdml.py reads its output (wire.py the
plugin's tpost.tls line in it, packet.py holds what a frame gives), tracker.py
follows each TCP connection (connection.py holds one while it is read), classify.py decides how it ended and
why, aggregate.py counts the results, analyze.py runs one file (result.py: what became of it), batch.py many.
"""
