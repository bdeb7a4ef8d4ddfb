"""Augmentation: transforms in 1D/2D/3D that move masks and boxes with the image."""
