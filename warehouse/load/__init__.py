"""The load of a run's result, one module per table family; `warehouse.runs.write_run` calls
them all in one transaction."""
