"""Model builders: YAML layer specs and (later) keras.applications backbones."""
