"""Write functions: each validates its whole input first, then writes in one transaction."""
