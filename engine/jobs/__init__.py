"""Background jobs: launch writes run rows; a detached scheduler starts detached workers; workers write the store."""
