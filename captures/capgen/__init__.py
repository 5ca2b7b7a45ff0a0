"""Generator of tsharkpost's sample captures: real TLS stacks on loopback, recorded by dumpcap."""
