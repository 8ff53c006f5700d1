"""Offline speaker diarization (Silero VAD, CAM++ embeddings, spectral clustering) and enrolled voiceprints."""
