"""Test support: fixtures, stand-in HTTP servers, worker subprocesses."""
