"""The GraphQL documents the load test sends."""

SIGN_IN = """
mutation SignIn($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code message } }
}"""

CUSTOM_FIELDS = "query CustomFields { customFields { key scope type required options } }"

FUTURE_DEPARTURES = """
query FutureDepartures($after: String, $from: Date!) {
  departures(first: 100, after: $after, filter: {tripDate: {from: $from}}) {
    pageInfo { hasNextPage endCursor }
    nodes { id capacity seatsLeft }
  }
}"""

GUESTS = """
query Guests($filter: GuestFilterInput, $orderBy: GuestOrder) {
  guests(first: 50, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName email category checkedIn
      answers { key value }
      booking { reference status departure { startsAt activity { name } } }
    }
  }
}"""

CUSTOMERS = """
query Customers($filter: CustomerFilterInput, $orderBy: CustomerOrder) {
  customers(first: 50, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id email firstName lastName country marketingConsent bookingCount
      totalSpent { amount currency } lastBookingAt
    }
  }
}"""

USERS = """
query Users($filter: UserFilterInput, $orderBy: UserOrder) {
  users(first: 50, filter: $filter, orderBy: $orderBy) {
    totalCount
    nodes { id email firstName lastName isActive roles lastSignInAt }
  }
}"""

BOOKINGS_PAGE = """
query BookingsPage($filter: BookingFilterInput, $orderBy: BookingOrder) {
  bookings(first: 100, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id reference status channel createdAt
        total { amount currency }
        buyer { firstName lastName email phone country }
        guests { id firstName lastName category checkedIn }
        departure { id startsAt capacity activity { id name } }
      }
    }
  }
}"""

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id reference status guests { id } }
    errors { field code message }
  }
}"""

CREATE_EXPORT = """
mutation CreateExport($input: CreateExportInput!) {
  createExport(input: $input) {
    export { id status rowCount url }
    errors { field code message }
  }
}"""

EXPORT_PROGRESS = """
query ExportProgress($id: ID!) {
  node(id: $id) {
    ... on Export { status progress { rowsWritten rowsExpected } rowCount url error }
  }
}"""
