"""One small module per stage, wiring pipeline/lib to the episode record. Imported by pipeline/plan.py only."""
