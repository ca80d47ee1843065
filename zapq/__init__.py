"""Domain code shared by the web app, the actors and the scheduler."""
