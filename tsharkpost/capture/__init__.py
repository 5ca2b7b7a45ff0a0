"""The capture stage: tshark -> lines -> packets -> connections -> classified records -> tallies, per file and batch.

capfile.py looks at the file before tshark runs, tshark.py runs tshark, fields_reader.py reads its output (wire.py
the plugin's tpost.tls line in it, packet.py holds what a frame gives), tracker.py
follows each TCP connection (connection.py holds one while it is read), classify.py decides how it ended and
why, aggregate.py counts the results, analyze.py runs one file (result.py: what became of it), batch.py many.
"""
