"""Data: sources (where examples come from) and the tf.data pipeline (how they reach the model)."""
