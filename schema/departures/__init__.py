"""GraphQL types and fields of the departures domain."""
