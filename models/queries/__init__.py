"""Read functions shared by the GraphQL lists and the CSV exports, one module per list."""
