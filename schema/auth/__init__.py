"""GraphQL types and fields of the auth domain."""
