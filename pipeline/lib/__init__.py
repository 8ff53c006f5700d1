"""Pure algorithms over plain values (never an Episode): audio, models, diarization, dedup, entities, figures,
summary, speakers, metrics, showinfo."""
