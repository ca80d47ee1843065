"""PostgreSQL: connections, versioned migrations, and one module per table family."""
