"""The tourdesk service: HTTP app, settings, authentication and command line."""
