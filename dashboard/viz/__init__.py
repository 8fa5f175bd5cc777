"""Every chart and figure builder (plotly, altair) and image encoding, shared by the pages."""
