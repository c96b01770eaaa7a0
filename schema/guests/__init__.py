"""GraphQL types and fields of the guests domain."""
