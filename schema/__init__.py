"""The GraphQL schema of tourdesk, one folder per domain."""
