"""The engine: stage protocol, plan check, stage cache, executors, runner, inputs and output files."""
