"""CSV exports: writing files, storing them, signing download URLs and running the jobs."""
