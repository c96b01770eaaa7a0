"""GraphQL types and fields of the bookings domain."""
