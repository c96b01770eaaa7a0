"""GraphQL types and fields of CSV exports."""
