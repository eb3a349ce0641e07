"""Exporters: SavedModel for TF Serving."""

from keras_seq2seq.export.saved_model import ExportError, export_saved_model, next_version

__all__ = ["ExportError", "export_saved_model", "next_version"]
