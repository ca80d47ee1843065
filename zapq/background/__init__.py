"""The background-task service: tasks other applications submit over HTTP, run by Dramatiq actors.

`handlers` is the contract between the service (which stores a task, runs it, and records its
status, progress and logs in PostgreSQL) and each task type's code (which does the work).
"""
