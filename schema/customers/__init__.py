"""GraphQL types and fields of the customers domain."""
