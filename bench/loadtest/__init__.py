"""The parts of bench/load.py: GraphQL client, operations, server processes and report."""
