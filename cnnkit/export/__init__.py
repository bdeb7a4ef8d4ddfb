"""`cnnkit export`: a run's model with its preprocessing built in, as SavedModel, ONNX or TFLite,
and the runtimes that run those files (parity checks, `cnnkit predict exported=`)."""
