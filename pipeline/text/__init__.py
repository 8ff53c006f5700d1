"""Text utilities shared by the stages: normalisation, sentences and positions, the Sudachi reader, transcript
parsers (txt with speaker prefixes, srt, vtt)."""
