"""zapq's flow-control middleware for Dramatiq. Imports nothing from the rest of zapq."""
