"""cnnkit: train, evaluate, explain and ship CNNs from YAML with Keras 3, TensorFlow and Hydra.

Importing the package is cheap on purpose: TensorFlow is only imported by the modules that need
it, so `cnnkit --help` stays instant.
"""

__version__ = "0.1.0"
