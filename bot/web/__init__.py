"""The web dashboard and the reports it and the command line write."""
