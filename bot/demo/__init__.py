"""The scripted console demo and the Sanming demo data it (and `seed`) loads."""
